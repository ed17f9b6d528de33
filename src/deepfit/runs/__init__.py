"""Runs that can be found again: every training run leaves a folder (`record`), `deepfit runs`
lists and compares them (`listing`, `comparison`), and trackers users already have can follow
along (`trackers`)."""
