"""The app's page (Gradio): talk to a character, and listen to an ``evaluate.py`` run's samples.

Every handler answers a failure with one line in the page (``error: ...``), never a traceback:
a character whose export is broken, a missing dataset, an evaluate folder that is not one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from audiorole.app import samples as eval_samples
from audiorole.app.catalog import Catalog
from audiorole.app.respond import Responder
from audiorole.errors import AudioroleError

log = logging.getLogger(__name__)
SCENE_HINT = "mara: Where is the ferry?\njune: Late again, as always."


def one_line(exc: BaseException) -> str:
    """The page's message for a failure: the error's first line; the traceback goes to the console only."""
    if not isinstance(exc, AudioroleError):
        log.exception("the app failed")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"error: {text}" if isinstance(exc, AudioroleError) else f"error: {type(exc).__name__}: {text}"


class Talk:
    """The talk tab's state: one responder per character, the transcriber for recorded lines."""

    def __init__(self, catalog: Catalog, generation=None):
        self.catalog = catalog
        self.responders = {name: Responder(c, generation) for name, c in catalog.characters.items()}
        self._asr = None

    def describe(self, name: str | None) -> str:
        problem = self.catalog.problem()
        if problem:
            return f"error: {problem}"
        if name not in self.responders:
            return f"error: no trained character '{name}' under {self.catalog.root}"
        return self.responders[name].describe()

    def transcribe(self, audio_path: str | None) -> str:
        if not audio_path:
            return ""
        if self._asr is None:
            from audiorole.eval.backends.asr_whisper import WhisperTranscriber

            self._asr = WhisperTranscriber()
        from audiorole.audio.decode import load_audio

        return self._asr.transcribe(load_audio(audio_path, 16000), 16000).strip()

    def reply(self, name: str | None, scene: str, recorded: str | None):
        """(audio for the player or None, reply text, one-line note, the scene with a recorded line added)."""
        from audiorole.reply import parse_context

        try:
            if self.catalog.problem():
                raise AudioroleError(self.catalog.problem())
            if name not in self.responders:
                raise AudioroleError(f"pick a character (none named '{name}' under {self.catalog.root})")
            heard = self.transcribe(recorded)
            if recorded and not heard:
                raise AudioroleError("no words heard in the recording; record again closer to the microphone, or type")
            scene = (scene or "").rstrip() + (f"\nyou: {heard}" if heard else "")
            reply = self.responders[name].reply(parse_context(scene.strip()))
        except Exception as exc:  # noqa: BLE001 - the page shows one line; the console keeps the traceback
            return None, "", one_line(exc), scene
        audio = None if reply.wave is None else (reply.sample_rate, reply.wave)
        spoken = f"{reply.seconds:.1f} s of speech" if reply.wave is not None else "text only (no decoder)"
        return audio, reply.text, f"{reply.how}; {spoken}.", scene.strip()


def _item_label(item: eval_samples.Item) -> str:
    reference = item.reference if len(item.reference) <= 70 else item.reference[:67] + "..."
    return f"{item.character} · {item.id} · {reference}"


def build(catalog: Catalog, generation=None):
    """The Gradio Blocks of the app (not launched)."""
    import gradio as gr

    talk = Talk(catalog, generation)
    names = list(catalog.characters)
    runs = [str(p) for p in catalog.eval_runs]
    with gr.Blocks(title="audiorole") as page:
        gr.Markdown("# audiorole\nTalk to a trained character, or listen to what `evaluate.py` scored.")
        with gr.Tab("Talk to a character"):
            character = gr.Dropdown(choices=names, value=names[0] if names else None, label="Character",
                                    elem_id="character")
            how = gr.Markdown(talk.describe(names[0] if names else None), elem_id="how")
            scene = gr.Textbox(lines=5, label="The scene so far: one 'speaker: line' per line", placeholder=SCENE_HINT,
                               elem_id="scene")
            recorded = gr.Audio(sources=["microphone", "upload"], type="filepath", elem_id="record",
                                label="Or say a line: it is transcribed (Whisper) and added to the scene as yours")
            go = gr.Button("Reply", variant="primary", elem_id="reply")
            note = gr.Markdown(elem_id="note")
            text = gr.Textbox(label="The reply's words", interactive=False, elem_id="reply_text")
            audio = gr.Audio(label="The reply, in the character's voice", type="numpy", interactive=False,
                             autoplay=True, elem_id="reply_audio", buttons=["download"])
            character.change(talk.describe, character, how)
            go.click(talk.reply, [character, scene, recorded], [audio, text, note, scene])

        with gr.Tab("Samples of an evaluate.py run"):
            run = gr.Dropdown(choices=runs, value=runs[0] if runs else None, allow_custom_value=True,
                              label="evaluate.py run (a folder with eval.json and samples/)", elem_id="eval_run")
            item = gr.Dropdown(label="Item (character · id · the real reply)", elem_id="eval_item")
            status = gr.Markdown(elem_id="eval_status")

            def items_of(folder):
                if not folder:
                    return gr.update(choices=[], value=None), (
                        f"No evaluate.py run under {catalog.root / 'evaluate'}: "
                        "`python evaluate.py character=otis decoder=logs/train/runs/<run>/decoder` makes one.")
                try:
                    found = eval_samples.load(folder)
                except Exception as exc:  # noqa: BLE001
                    return gr.update(choices=[], value=None), one_line(exc)
                if not found:
                    return gr.update(choices=[], value=None), f"error: {folder}: no saved samples (save_audio=0?)"
                labels = [_item_label(i) for i in found]
                return gr.update(choices=labels, value=labels[0]), f"{len(found)} items with samples in `{folder}`."

            run.change(items_of, run, [item, status])
            page.load(items_of, run, [item, status])

            @gr.render(inputs=[run, item])
            def show(folder, label):
                if not folder or not label:
                    return
                try:
                    found = {_item_label(i): i for i in eval_samples.load(folder)}
                except Exception:  # noqa: BLE001 - the status line already says why
                    return
                chosen = found.get(label)
                if chosen is None:
                    return
                with gr.Row():
                    for answer in chosen.answers:
                        with gr.Column(min_width=220):
                            gr.Markdown(f"**{answer.system}**  \n{eval_samples.score_line(answer)}  \n"
                                        f"*{answer.text or '(no text)'}*")
                            if answer.audio is not None:
                                gr.Audio(value=str(answer.audio), interactive=False, show_label=False,
                                         elem_classes=["sample"])
                            else:
                                gr.Markdown("(no clip saved for this item)")
    return page


def allowed_paths(catalog: Catalog) -> list[str]:
    """Folders the page may serve audio from: the log folder (evaluate samples)."""
    return [str(Path(catalog.root).resolve())]
