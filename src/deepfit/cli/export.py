"""`deepfit export MODEL --format onnx|torchscript -o FILE`: a file other runtimes load, checked
against the original before it is kept."""

from __future__ import annotations

from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.errors import InvalidInputError

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default="onnx", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write (default: beside MODEL, .onnx or .pt).")
def export(model_path, fmt, output):
    """Write MODEL as ONNX or TorchScript. Numeric tables take raw features (float32 [N, F], columns
    in training order, scaling inside); pictures take uint8 [N, C, H, W] (normalisation inside); the
    output is class probabilities in the model's class order. The file is run (onnxruntime, or the
    loaded TorchScript module) against the original on sample inputs and kept only if the largest
    difference in probability is at most 1e-5. Categorical columns and sound cannot be encoded inside
    the file: it says so, and writes the encoder beside it as JSON."""
    from deepfit.cli.inputs import load_classifier
    from deepfit.export import TOLERANCE, export_model

    output = output or model_path.with_suffix(SUFFIXES[fmt])
    if output.resolve() == model_path.resolve():
        raise InvalidInputError(f"{output}: is the model itself; write the export to another file (-o).")
    estimator = load_classifier(model_path)
    result = export_model(estimator, output, fmt)
    click.echo(f"{fmt} model written to {result.path}: input '{result.input_name}', {result.input_description}; "
               f"output 'probabilities' [N, {len(estimator.classes_)}] in the order "
               f"{', '.join(map(str, estimator.classes_[:8]))}{', ...' if len(estimator.classes_) > 8 else ''}.")
    click.echo(f"checked against the original on sample inputs: largest difference {result.max_difference:.1e} "
               f"(at most {TOLERANCE:g})")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.encoder_path is not None:
        click.echo(f"encoder written to {result.encoder_path}", err=True)
