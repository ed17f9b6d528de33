"""Studio projects as plain folders under the studio's root:

    ROOT/<project>/project.json           its kind, and a table's target column
    ROOT/<project>/examples/<class>/...   pictures, sound or texts, one sub-folder per class
    ROOT/<project>/examples/table.csv     or a table
    ROOT/<project>/run-001/ ...           runs, as `deepfit train --out` writes them

`deepfit train ROOT/<project>/examples --out ROOT/<project>/run-001` is what the studio runs, and
`deepfit runs ROOT` lists its runs. Every write goes through `names`: only names the studio made,
inside the project's folder."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from deepfit.atomic import write_atomically
from deepfit.data import kinds
from deepfit.data.uploads import UnsupportedFileType, UploadBudget, check_clips, clip_from_bytes, decode_pictures
from deepfit.errors import DeepfitError, InvalidInputError
from deepfit.studio.names import safe_name, stored_name

PROJECT_FILE = "project.json"
EXAMPLES = "examples"
TABLE_FILE = "table.csv"
KIND_OF_CHOICE = {"pictures": "image", "sound": "audio", "text": "text", "table": "table"}
MAX_IMPORTED = 20_000   # files taken from one folder on disk
IMPORT_CHUNK = 64       # of them read into memory at once
PREVIEW_ROWS = 5


class NotFound(DeepfitError):
    """A project, class, run or file that is not there (HTTP 404)."""


@dataclass(frozen=True)
class Project:
    folder: Path

    @classmethod
    def create(cls, root: Path, name: str, choice: str) -> Project:
        name = safe_name(name, "project")
        if choice not in KIND_OF_CHOICE:
            raise InvalidInputError(f"kind {choice!r}: choose one of {', '.join(KIND_OF_CHOICE)}.")
        folder = Path(root) / name
        if folder.exists():
            raise InvalidInputError(f"a project named {name!r} is there already; choose another name.")
        (folder / EXAMPLES).mkdir(parents=True)
        project = cls(folder)
        project.save_info({"kind": KIND_OF_CHOICE[choice], "target": None})
        return project

    @classmethod
    def open(cls, root: Path, name: str) -> Project:
        folder = Path(root) / safe_name(name, "project")
        if not (folder / PROJECT_FILE).is_file():
            raise NotFound(f"no project named {name!r}; the studio lists those it has.")
        return cls(folder)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def info(self) -> dict:
        return json.loads((self.folder / PROJECT_FILE).read_text())

    def save_info(self, info: dict) -> None:
        write_atomically(self.folder / PROJECT_FILE, (json.dumps(info, indent=2) + "\n").encode())

    @property
    def kind(self) -> kinds.Kind:
        return kinds.of(self.info["kind"])

    @property
    def examples(self) -> Path:
        return self.folder / EXAMPLES

    def describe(self) -> dict:
        kind, info = self.kind, self.info
        described = {"name": self.name, "kind": kind.name, "words": {"data": kind.words.data, "files": kind.words.files},
                     "suffixes": list(kind.suffixes), "target": info.get("target")}
        if kind is kinds.TABLE:
            return {**described, **self.table_preview()}
        return {**described, "classes": self.classes()}

    # ------------------------------------------------------------------ classes of files
    def classes(self) -> list[dict]:
        """Each class with its number of examples and a few of their files, for thumbnails."""
        found = []
        for folder in sorted(p for p in self.examples.iterdir() if p.is_dir()):
            files = sorted(p.name for p in folder.iterdir() if p.is_file())
            found.append({"name": folder.name, "count": len(files), "files": files[-12:]})
        return found

    def class_folder(self, name: str, *, create: bool = False) -> Path:
        self._takes_classes()
        folder = self.examples / safe_name(name, "class")
        if create:
            folder.mkdir(exist_ok=True)
        elif not folder.is_dir():
            raise NotFound(f"no class named {name!r} in project {self.name!r}.")
        return folder

    def delete_class(self, name: str) -> None:
        shutil.rmtree(self.class_folder(name))

    def add_files(self, name: str, payloads: list[tuple[str, bytes]], budget) -> list[str]:
        """Store uploaded examples in class `name` once each is read as the project's kind (a picture
        that decodes, sound that opens, text in UTF-8); one bad file refuses the request, naming it."""
        folder = self.class_folder(name, create=True)
        for file_name, _ in payloads:
            self._check_suffix(file_name)
        _validate(self.kind, payloads, budget)
        stored = [(stored_name(payload, Path(file_name).suffix), payload) for file_name, payload in payloads]
        for stored_as, payload in stored:
            write_atomically(folder / stored_as, payload)
        return [stored_as for stored_as, _ in stored]

    def add_texts(self, name: str, texts: list[str]) -> list[str]:
        if self.kind is not kinds.TEXT:
            raise InvalidInputError(f"project {self.name!r} holds {self.kind.words.data}; texts go in a text project.")
        empty = next((i for i, text in enumerate(texts) if not str(text).strip()), None)
        if empty is not None:
            raise InvalidInputError(f"texts.{empty}: the text is empty; type at least one word.")
        return self.add_files(name, [(f"{i}.txt", str(text).encode()) for i, text in enumerate(texts)], None)

    def import_folder(self, path, name: str | None, budget) -> dict:
        """Copy the project's kind of files from a folder on this machine: each sub-folder holding such
        files is a class (named as the sub-folder), or, without sub-folders, they all go to `name`."""
        source = Path(str(path)).expanduser()
        if not source.is_dir():
            raise InvalidInputError(f"{source}: no such folder on this machine; give the full path of a folder.")
        suffixes = set(self.kind.suffixes)
        groups = {sub.name: sub for sub in sorted(source.iterdir()) if sub.is_dir() and _has_files(sub, suffixes)}
        if not groups:
            if not name:
                raise InvalidInputError(f"{source}: holds no sub-folders of {self.kind.words.files}; choose the class "
                                        "its files belong to.")
            groups = {name: source}
        added = {}
        for label, folder in groups.items():
            files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)[:MAX_IMPORTED]
            added[safe_name(label, "class")] = sum(  # a few at a time: a folder of photos can hold gigabytes
                len(self.add_files(label, [(p.name, p.read_bytes()) for p in files[start:start + IMPORT_CHUNK]], budget))
                for start in range(0, len(files), IMPORT_CHUNK))
        return added

    def example_file(self, class_name: str, file_name: str) -> Path:
        path = self.class_folder(class_name) / file_name
        if "/" in file_name or "\\" in file_name or file_name.startswith(".") or not path.is_file():
            raise NotFound(f"no example {file_name!r} in class {class_name!r}.")
        return path

    # ------------------------------------------------------------------ tables
    def set_table(self, payload: bytes, file_name: str) -> dict:
        """Store an uploaded CSV as the project's table, once pandas reads it."""
        if self.kind is not kinds.TABLE:
            raise InvalidInputError(f"project {self.name!r} holds {self.kind.words.data}; a CSV goes in a table project.")
        if Path(file_name).suffix.lower() not in (".csv", ".tsv", ".txt"):
            raise InvalidInputError(f"{file_name}: upload the table as a CSV file (.csv).")
        columns = _table_columns(payload, file_name)
        if file_name.lower().endswith(".tsv"):  # kept as a CSV, which is what `deepfit train` is given
            import pandas as pd

            payload = pd.read_csv(io.BytesIO(payload), sep="\t").to_csv(index=False).encode()
        write_atomically(self.examples / TABLE_FILE, payload)
        info = self.info
        info["target"] = info.get("target") if info.get("target") in columns else _likely_target(columns)
        self.save_info(info)
        return self.table_preview()

    def set_target(self, column: str) -> None:
        preview = self.table_preview()
        if column not in preview.get("columns", []):
            raise InvalidInputError(f"target {column!r}: the table has no such column; choose one of "
                                    f"{', '.join(preview.get('columns', [])[:20])}.")
        info = self.info
        info["target"] = column
        self.save_info(info)

    def table_preview(self) -> dict:
        import pandas as pd

        table = self.examples / TABLE_FILE
        if not table.is_file():
            return {"columns": [], "rows": [], "n_rows": 0}
        frame = pd.read_csv(table, nrows=2000)
        target = self.info.get("target")
        counts = frame[target].astype(str).value_counts().to_dict() if target in frame else {}
        return {"columns": [str(c) for c in frame.columns], "n_rows": _count_rows(table),
                "rows": frame.head(PREVIEW_ROWS).astype(object).where(frame.head(PREVIEW_ROWS).notna(), None)
                .values.tolist(), "class_counts": counts}

    # ------------------------------------------------------------------ training
    def training_source(self) -> tuple[Path, list[str]]:
        """The DATA and options of `deepfit train` for this project; refused with what to do when the
        examples cannot train a classifier (no table or target, an empty class, fewer than two classes)."""
        if self.kind is kinds.TABLE:
            info = self.info
            if not (self.examples / TABLE_FILE).is_file():
                raise InvalidInputError("upload a table (CSV) first.")
            if not info.get("target"):
                raise InvalidInputError("choose the column that holds the labels (the target) first.")
            return self.examples / TABLE_FILE, ["--target", info["target"]]
        classes = self.classes()
        empty = [c["name"] for c in classes if c["count"] == 0]
        if empty:
            raise InvalidInputError(f"class {empty[0]!r} has no examples; add some, or delete the class.")
        if len(classes) < 2:
            raise InvalidInputError(f"a classifier tells classes apart: make at least two (this project has "
                                    f"{len(classes)}).")
        return self.examples, []

    def _takes_classes(self) -> None:
        if self.kind is kinds.TABLE:
            raise InvalidInputError(f"project {self.name!r} is a table: its classes are the values of its target "
                                    "column.")

    def _check_suffix(self, file_name: str) -> None:
        if Path(file_name).suffix.lower() not in self.kind.suffixes:
            raise UnsupportedFileType(f"{file_name}: project {self.name!r} takes {self.kind.words.files} "
                                      f"({', '.join(self.kind.suffixes)}).")


def list_projects(root: Path) -> list[dict]:
    root = Path(root)
    if not root.is_dir():
        return []
    return [{"name": p.name, "kind": json.loads((p / PROJECT_FILE).read_text()).get("kind")}
            for p in sorted(root.iterdir()) if (p / PROJECT_FILE).is_file()]


def _validate(kind, payloads, budget) -> None:
    """Read each payload as the kind reads uploads; a text must be UTF-8 and hold a word."""
    budget = budget or UploadBudget()
    if kind is kinds.PICTURES:
        decode_pictures(payloads, None, 3, budget)
    elif kind is kinds.SOUND:
        check_clips(payloads, budget)
        for name, payload in payloads:
            clip_from_bytes(payload, name, budget.clip_seconds)
    elif kind is kinds.TEXT:
        for name, payload in payloads:
            try:
                if not payload.decode("utf-8").strip():
                    raise InvalidInputError(f"{name}: the text is empty.")
            except UnicodeDecodeError:
                raise InvalidInputError(f"{name}: not UTF-8 text; save it as UTF-8.") from None


def _has_files(folder: Path, suffixes: set) -> bool:
    return any(p.is_file() and p.suffix.lower() in suffixes for p in folder.iterdir())


def _table_columns(payload: bytes, file_name: str) -> list[str]:
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(payload), sep="\t" if file_name.lower().endswith(".tsv") else ",", nrows=50)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise InvalidInputError(f"{file_name}: not a table pandas can read ({str(error).splitlines()[0]}).") from None
    if frame.shape[1] < 2:
        raise InvalidInputError(f"{file_name}: a table needs a column of labels and at least one other column; "
                                f"this one has {frame.shape[1]}.")
    return [str(c) for c in frame.columns]


def _likely_target(columns: list[str]) -> str | None:
    obvious = {"label", "target", "class", "y"}
    return next((c for c in columns if c.lower() in obvious), None)


def _count_rows(path: Path) -> int:
    with open(path, "rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)
