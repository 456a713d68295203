"""Errors meant for the user: one line that names the file and the fix.

Entry points print these without a traceback; anything else is a bug and keeps
its traceback.
"""


class AudioroleError(Exception):
    """A problem with the user's input or config, explained in one line."""


class SeriesError(AudioroleError):
    """A series folder (episodes, subtitles, characters) is missing or malformed."""


class ConfigError(AudioroleError):
    """A config value is missing or inconsistent."""
