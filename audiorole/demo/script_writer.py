"""Writes the dialogue: who says what, scene by scene.

Each character has its own line generator (templates x vocabulary) with a
recognisable style, so that lines rarely repeat and a text classifier can tell
the speakers apart:

* mara  - terse captain: three to five clipped sentences, orders, sea terms;
* otis  - verbose professor: one long sentence of hedges and nested clauses;
* june  - cheerful teenager: exclamations, slang, "like", "totally".

The writer only decides text and turn order; timing is the mixer's job.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .cast import CAST, EXTRAS

# --- mara: the captain -----------------------------------------------------

# Orders pair a verb with gear it makes sense for (nobody coils a tiller).
_ORDERS = {
    "Secure": ["forward hatch", "deck cargo", "dinghy", "anchor chain", "galley stove"],
    "Stow": ["spare canvas", "fenders", "deck cargo", "log book", "charts"],
    "Check": ["bilge pump", "running lights", "anchor chain", "halyard", "mooring lines", "radio"],
    "Coil": ["stern line", "mooring lines", "halyard", "bow line"],
    "Lash down": ["dinghy", "deck cargo", "spare canvas", "water casks"],
    "Haul in": ["stern line", "fenders", "mooring lines", "jib", "bow line"],
    "Double up": ["mooring lines", "stern line", "bow line"],
    "Man": ["tiller", "bilge pump", "wheel", "radio"],
    "Trim": ["jib", "mainsail"],
    "Reef": ["mainsail"],
}
_DIRECTIONS = ["north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest"]
_TIMES = ["four bells", "first light", "dusk", "the turn of the tide", "midnight", "eight bells", "noon"]
_HAZARDS = ["shoals", "breakwater", "reef", "north buoy", "channel marker", "sandbar", "harbor wall"]
_CREW = ["June", "Otis", "Professor", "Lass", "Mister Fairweather"]
_POSTS = ["aft", "forward", "below", "on the bow", "at the helm", "on deck", "to the wheelhouse"]


def _mara_sentence(rng: random.Random, kind: str) -> str:
    if kind == "order":
        verb = rng.choice(sorted(_ORDERS))
        return f"{verb} the {rng.choice(_ORDERS[verb])}."
    if kind == "weather":
        return rng.choice([
            f"Wind's backing {rng.choice(_DIRECTIONS)}.",
            f"Wind's veering {rng.choice(_DIRECTIONS)}.",
            f"Swell's building from the {rng.choice(_DIRECTIONS)}.",
            f"Glass is {rng.choice(['falling', 'dropping fast', 'steady', 'rising'])}.",
            f"Fog by {rng.choice(_TIMES)}.",
        ])
    if kind == "crew":
        return f"{rng.choice(_CREW)}, {rng.choice(_POSTS)}. {rng.choice(['Now.', 'Smartly.', 'Go.'])}"
    if kind == "plan":
        return rng.choice([
            f"We sail at {rng.choice(_TIMES)}.",
            f"Mind the {rng.choice(_HAZARDS)}.",
            f"Keep her clear of the {rng.choice(_HAZARDS)}.",
            f"Course {rng.choice(_DIRECTIONS)}, {rng.choice(['two', 'three', 'five', 'eight'])} knots.",
            f"Anchor off the {rng.choice(_HAZARDS)} till {rng.choice(_TIMES)}.",
        ])
    # verdict: the captain's one-word or one-phrase replies
    return rng.choice([
        "Aye.", "No.", "Noted.", "Not on my watch.", "Enough talk.", "Belay that.",
        "Steady as she goes.", "Tide waits for no one.", "Fair enough.", "Later.",
    ])


def mara_line(rng: random.Random) -> str:
    kinds = rng.sample(["order", "weather", "crew", "plan", "verdict"], k=rng.randint(3, 5))
    return " ".join(_mara_sentence(rng, k) for k in kinds)


# --- otis: the professor ---------------------------------------------------

_OPENERS = [
    "Well, if I may", "Now, strictly speaking", "Forgive me for interrupting, but",
    "I must say, and I say this with the greatest respect", "Hmm, it occurs to me that",
    "As I was attempting to explain earlier", "Correct me if I am wrong, though I seldom am",
    "If you will indulge an old man for a moment", "With all due deference to the captain",
]
_HEDGES = [
    "it would appear that", "one might reasonably argue that", "I am inclined to suspect that",
    "there is at least some evidence that", "it is not entirely impossible that",
    "I dare say that", "one could, with some caution, propose that",
]
_TOPICS = [
    "lighthouse lens", "old harbor ledger", "barometric record", "tidal almanac",
    "wreck of the Marigold", "keeper's diary", "migration of the herring",
    "brass sextant", "customs house archive", "chart of the northern shoals",
]
_RELATIVES = [
    "which, as you may recall, was catalogued by my predecessor",
    "which, although frequently misunderstood, has been studied for decades",
    "which, incidentally, I examined only last Tuesday",
    "which, whatever the townsfolk may say about it, remains remarkably well preserved",
    "which, despite its rather humble appearance, is of considerable historical interest",
    "which, if my memory serves, was donated to the museum in the spring",
    "which, I hasten to add, nobody has properly read in a century",
]
_PREDICATES = [
    "is perhaps rather more significant than we had initially supposed",
    "may, in point of fact, explain the curious lights on the water",
    "could conceivably tell us where the missing cargo went",
    "ought to be examined with a great deal more care",
    "might well account for the peculiar behaviour of the tide",
    "suggests, at the very least, that the old stories are not pure invention",
]
_TAILS = [
    "although I would hesitate to commit to that view in writing",
    "or so the evidence, such as it is, would suggest",
    "though naturally further study is required",
    "unless, of course, I have misread the marginal notes entirely",
    "if one is prepared to accept a certain amount of speculation",
    "but I should not like to be quoted on that",
]


def otis_line(rng: random.Random) -> str:
    opener, hedge = rng.choice(_OPENERS), rng.choice(_HEDGES)
    topic, pred = rng.choice(_TOPICS), rng.choice(_PREDICATES)
    # Three lengths so the professor is long-winded without monopolising
    # scenes; the short form also fits 3-6 s enrollment clips.
    roll = rng.random()
    if roll < 0.4:
        return f"{opener}, {hedge} the {topic}, {rng.choice(_RELATIVES)}, {pred}, {rng.choice(_TAILS)}."
    if roll < 0.8:
        return f"{opener}, {hedge} the {topic} {pred}, {rng.choice(_TAILS)}."
    return f"{hedge[0].upper()}{hedge[1:]} the {topic} {pred}."


# --- june: the teenager ----------------------------------------------------

_EXCLAIM = ["Oh my gosh!", "No way!", "Wait, wait, wait!", "Okay, okay!", "Yes!", "Whoa!", "Dude!", "Ugh, seriously?", "Hold up!"]
_THINGS = ["lighthouse", "old boat", "fog", "storm", "treasure map", "seagull", "ferry", "ghost light", "boathouse", "shipwreck"]
_ADJ = ["epic", "wild", "awesome", "sick", "amazing", "bonkers", "cool", "spooky"]
_ACTIVITY = [
    "go check it out", "climb up to the lamp room", "film it for my channel",
    "grab some fries at the pier", "sneak onto the ferry", "go look for clues",
    "take the dinghy out", "stay up and watch the lights",
]
_CLOSERS = ["Let's go!", "Kidding! Mostly.", "You guys!", "Best summer ever!", "For real!", "Ha!", "Come on!", "So cool!"]


def _june_body(rng: random.Random) -> str:
    thing, adj, act = rng.choice(_THINGS), rng.choice(_ADJ), rng.choice(_ACTIVITY)
    return rng.choice([
        f"That {thing} is literally so {adj}!",
        f"We should totally {act}!",
        f"I bet the {thing} is, like, haunted or something!",
        f"Can we please {act} after this?",
        f"This is gonna be so {adj}!",
        f"Honestly, the {thing} is the most {adj} thing ever!",
        f"Like, who even has a {thing} anymore?",
        f"Okay but imagine if we {act} tonight!",
    ])


def june_line(rng: random.Random) -> str:
    parts = [rng.choice(_EXCLAIM), _june_body(rng)]
    if rng.random() < 0.5:
        parts.append(_june_body(rng))
    if rng.random() < 0.6:
        parts.append(rng.choice(_CLOSERS))
    return " ".join(parts)


# --- extras ----------------------------------------------------------------

def dockhand_line(rng: random.Random) -> str:
    greet = rng.choice(["Morning, Captain", "Evening, folks", "Excuse me, Captain", "Sorry to bother you"])
    report = rng.choice([
        "the ferry's running late on account of the fog",
        "there's a crate here with your name on it",
        "the harbormaster wants a word about the mooring fees",
        "somebody's been poking around the old boathouse",
        "the fuel barge won't be in until Thursday",
        "your dinghy came loose again in the night",
    ])
    return f"{greet}. {report[0].upper()}{report[1:]}."


LINE_WRITERS = {"mara": mara_line, "otis": otis_line, "june": june_line, "extra_dockhand": dockhand_line}


# --- scenes ----------------------------------------------------------------

@dataclass
class Turn:
    speaker: str
    text: str


@dataclass
class Scene:
    index: int
    turns: list[Turn] = field(default_factory=list)


def fresh_line(speaker: str, rng: random.Random, used: set[str], tries: int = 50, style: str | None = None) -> str:
    """A line not used before in the series (falls back to a repeat if unlucky), in the
    style of ``style`` (a key of ``LINE_WRITERS``; default the speaker's own)."""
    write = LINE_WRITERS[style or speaker]
    line = write(rng)
    for _ in range(tries):
        if line not in used:
            break
        line = write(rng)
    used.add(line)
    return line


def write_episode(rng: random.Random, n_scenes: int, used: set[str], spoken: dict[str, int],
                  cast=CAST, extras=EXTRAS, scene_sizes: tuple[int, ...] = (2, 3, 3), line=None) -> list[Scene]:
    """Plan the scenes of one episode among ``cast`` (characters; extras drop by).

    ``spoken`` counts characters of text per speaker across the series so far
    (a cheap stand-in for seconds); the next speaker is drawn towards whoever
    has said least, which keeps speaking time balanced even though Mara's
    lines are short and Otis's long. ``scene_sizes``: how many of the cast a
    scene may hold, drawn uniformly (a larger cast wants larger scenes).
    ``line(speaker, rng, used, style)`` gives each line (default ``fresh_line``).
    """
    line = line or (lambda speaker, rng, used, style: fresh_line(speaker, rng, used, style=style))
    styles = {c.slug: c.writer for c in (*cast, *extras)}
    slugs = [c.slug for c in cast]
    scenes = []
    for s in range(n_scenes):
        present = rng.sample(slugs, k=min(rng.choice(scene_sizes), len(slugs)))
        n_turns = rng.randint(6, 11)
        # An extra drops by in every third scene, for one or two lines.
        extra_turns = set(rng.sample(range(1, n_turns), k=rng.randint(1, 2))) if s % 3 == 1 and extras else set()
        scene = Scene(index=s)
        prev = None
        for t in range(n_turns):
            if t in extra_turns:
                speaker = extras[0].slug if len(extras) == 1 else rng.choice(extras).slug
            else:
                speaker = _next_speaker(rng, [c for c in present if c != prev], spoken)
            text = line(speaker, rng, used, styles[speaker])
            spoken[speaker] = spoken.get(speaker, 0) + len(text)
            scene.turns.append(Turn(speaker, text))
            prev = speaker
        scenes.append(scene)
    return scenes


def _next_speaker(rng: random.Random, candidates: list[str], spoken: dict[str, int]) -> str:
    # Squared deficit: a clear pull towards the quiet ones, still random.
    most = max(spoken.get(c, 0) for c in candidates) + 100
    weights = [(most - spoken.get(c, 0)) ** 2 for c in candidates]
    return rng.choices(candidates, weights=weights, k=1)[0]
