"""The kinds of job the data app runs, registered with core.jobs when this module is imported."""
from core.jobs import register_kind

IMPORT = register_kind("import", label="Import", task="data.tasks.import_file")
