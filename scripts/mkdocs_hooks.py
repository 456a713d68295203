"""MkDocs hook: the configuration reference page, written from conf/ at every build (never committed, never stale)."""

from mkdocs.structure.files import File

from audiorole.utils.conf_reference import reference


def on_files(files, config):
    files.append(File.generated(config, "configuration_reference.md", content=reference()))
    return files
