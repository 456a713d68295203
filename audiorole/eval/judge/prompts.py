"""Judge prompt templates kept as YAML in ``conf/eval/prompts`` (``system``, ``user``, ``scale``).

Fields are ``${name}`` placeholders (``string.Template``), so JSON examples in
a prompt need no brace escaping. A template is given by name (``cq`` ->
``conf/eval/prompts/cq.yaml``) or by path.
"""

import string
from dataclasses import dataclass
from pathlib import Path

import yaml

from audiorole.errors import ConfigError
from audiorole.utils.resolvers import ROOT_DIR

PROMPTS_DIR = ROOT_DIR / "conf" / "eval" / "prompts"


def prompt_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path).expanduser()
    if path.suffix not in (".yaml", ".yml"):
        path = PROMPTS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml"))) or "none"
        raise ConfigError(f"{path}: no such judge prompt; give a YAML path or one of: {known}")
    return path


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    scale: tuple[int, int]

    @classmethod
    def load(cls, name_or_path: str | Path) -> "PromptTemplate":
        path = prompt_path(name_or_path)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        missing = [k for k in ("system", "user", "scale") if k not in data]
        if missing:
            raise ConfigError(f"{path}: missing {', '.join(missing)}; a judge prompt needs system, user and scale")
        scale = data["scale"]
        if (not isinstance(scale, list) or len(scale) != 2 or not all(isinstance(v, int) for v in scale)
                or scale[0] >= scale[1]):
            raise ConfigError(f"{path}: scale must be [low, high] integers with low < high, got {scale!r}")
        return cls(name=path.stem, system=str(data["system"]), user=str(data["user"]), scale=(scale[0], scale[1]))

    def fields(self) -> set[str]:
        return {m.group("named") or m.group("braced")
                for text in (self.system, self.user)
                for m in string.Template.pattern.finditer(text) if m.group("named") or m.group("braced")}

    def render(self, audio_wav_b64: str | None = None, **fields: str) -> list[dict]:
        """Chat messages; with audio, the user turn also carries the clip as an ``input_audio`` wav part."""
        try:
            system = string.Template(self.system).substitute(fields)
            user = string.Template(self.user).substitute(fields)
        except KeyError as e:
            raise ConfigError(f"judge prompt '{self.name}' needs field {e.args[0]!r}; "
                              f"it uses {sorted(self.fields())}") from None
        except ValueError as e:  # a stray "$" in the template
            raise ConfigError(f"judge prompt '{self.name}': {e}; write a literal $ as $$") from None
        content: str | list = user
        if audio_wav_b64 is not None:
            content = [{"type": "text", "text": user},
                       {"type": "input_audio", "input_audio": {"data": audio_wav_b64, "format": "wav"}}]
        return [{"role": "system", "content": system}, {"role": "user", "content": content}]
