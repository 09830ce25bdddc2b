"""Import a CSV/JSONL/JSON file, a zip or a folder of images into a project, with a progress bar."""
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.models import Project
from data.imports import retrain_after_import
from data.parse import parse_archive, parse_image_folder, parse_upload
from data.write import import_rows
from quorum.lib.errors import QuorumError


def progress_bar(out, done: int, total: int, width: int = 40) -> None:
    filled = int(width * done / total) if total else width
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    out.flush()


class Command(BaseCommand):
    help = "Import items into a project: .csv/.jsonl/.json text, a .zip of images or a folder of images."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("path", type=Path)
        parser.add_argument("--queue-given", action="store_true",
                            help="Also send items that have a given label to annotators.")
        parser.add_argument("--strict", action="store_true",
                            help="Images: refuse the whole archive or folder if one file cannot be read.")

    def handle(self, *args, project_id, path, queue_given, strict=False, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project with id {project_id}.")
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        self.stdout.write(f"Validating {path} …")
        try:
            notes = []
            if path.is_dir():
                parsed = parse_image_folder(path)
                rows, errors, notes = parsed.rows, parsed.errors, parsed.notes
            else:
                with path.open("rb") as fh:
                    if path.suffix.lower() == ".zip":
                        parsed = parse_archive(path.name, fh)
                        rows, errors, notes = parsed.rows, parsed.errors, parsed.notes
                    else:
                        rows, errors = parse_upload(path.name, fh)
            result = import_rows(project=project, rows=rows, errors=errors, name=path.name, queue_given=queue_given,
                                 strict=strict, notes=notes, on_progress=lambda d, t: progress_bar(sys.stdout, d, t))
            retrain_after_import(project=project, result=result)
        except QuorumError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write("")
        for note in result.notes:
            self.stdout.write(note)
        for skipped in result.skipped:
            self.stdout.write(self.style.WARNING(f"Skipped {skipped['file']}: {skipped['reason']}"))
        self.stdout.write(self.style.SUCCESS(result.summary(project.name)))
