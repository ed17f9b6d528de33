"""Finding objects in pictures: reading pictures at their own sizes, the image-pyramid scan with
non-maximum suppression, and the precision, recall and average precision of boxes."""
