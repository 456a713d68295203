"""Everyday English sentences for the base-decoder corpus (``base_corpus``).

A template generator written for this project (no third-party text, so no
licence to track): about twenty sentence shapes (statements, questions,
requests, lists, numbers, dates, reported speech) filled from word lists of
kitchens, towns, offices, weather, science, sport and gardens. Word lists and
shapes are chosen to cover English phonemes broadly (fricatives, clusters,
diphthongs, numbers) and to stay off the demo series' world: no sea, harbor,
boats, ships or lights, and none of the demo characters' catchphrases, so a
base-corpus sentence never equals a line of the series (``tests/test_base_corpus.py``).
"""

from __future__ import annotations

import random

_NAMES = ["Alice", "Bernard", "Chloe", "Dmitri", "Esther", "Felix", "Gloria", "Hector", "Ingrid", "Jasper",
          "Keiko", "Lionel", "Miriam", "Nigel", "Olga", "Priya", "Quentin", "Rosalind", "Samir", "Theodora",
          "Ursula", "Victor", "Wendy", "Xavier", "Yusuf", "Zelda"]
_PEOPLE = ["the baker", "my neighbour", "our teacher", "the plumber", "my cousin", "the nurse", "the librarian",
           "the gardener", "the judge", "a stranger", "the new tenant", "the chemist", "the referee", "my aunt",
           "the architect", "the violinist", "the mechanic", "the florist"]
_THINGS = ["kettle", "bicycle", "umbrella", "sandwich", "blanket", "envelope", "pencil", "bucket", "jigsaw puzzle",
           "violin", "suitcase", "thermometer", "pumpkin", "cushion", "scarf", "toaster", "microscope",
           "wheelbarrow", "chessboard", "teapot", "calendar", "magazine", "telescope", "hammock", "padlock",
           "spreadsheet", "vacuum cleaner", "birthday cake", "fountain pen", "sofa"]
_PLACES = ["the bakery", "the museum", "the garden centre", "the train station", "the library", "the cinema",
           "the post office", "the village hall", "the swimming pool", "the orchard", "the car park",
           "the bus depot", "the bookshop", "the greenhouse", "the supermarket", "the concert hall", "the attic",
           "the basement", "the playground", "the pharmacy"]
_ADJ = ["heavy", "shiny", "crooked", "fragile", "purple", "enormous", "tiny", "expensive", "broken", "polished",
        "dusty", "warm", "squeaky", "striped", "brand new", "second hand", "yellow", "wooden", "plastic", "velvet",
        "frozen", "crumpled", "smooth", "bright green"]
_PAST = ["dropped", "painted", "borrowed", "repaired", "measured", "wrapped", "hid", "sold", "polished", "carried",
         "delivered", "weighed", "found", "photographed", "replaced", "returned", "lent", "cleaned", "ordered",
         "misplaced"]
_BASE = ["fix", "paint", "borrow", "measure", "wrap", "sell", "carry", "deliver", "weigh", "photograph",
         "replace", "return", "clean", "order", "unpack", "label", "check", "move"]
_ADVERBS = ["slowly", "carefully", "quietly", "eagerly", "twice", "at once", "without a word", "in a hurry",
            "rather clumsily", "very neatly", "by mistake", "on purpose"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "July", "August", "September", "October",
           "November", "December"]
_NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "eleven", "twelve", "fifteen",
            "twenty", "thirty", "forty two", "fifty", "sixty", "a hundred", "three hundred"]
_PLURALS = ["apples", "chairs", "stamps", "candles", "biscuits", "buttons", "tickets", "glasses", "marbles",
            "spoons", "potatoes", "envelopes", "batteries", "tulips", "crayons", "towels", "jars of jam", "postcards"]
_WEATHER = ["it rained all afternoon", "the wind was bitterly cold", "the sun came out at last",
            "a thick frost covered the lawn", "the snow began to melt", "thunder rumbled in the distance",
            "the air felt damp and heavy", "a gentle breeze cooled the street"]
_FEELINGS = ["puzzled", "delighted", "annoyed", "relieved", "surprised", "exhausted", "thrilled", "nervous",
             "grateful", "embarrassed", "curious", "furious"]
_FACTS = ["water boils at a lower temperature on a mountain", "bees can recognise human faces",
          "the moon has no weather at all", "copper turns green in damp air", "owls cannot move their eyes",
          "a leap year has three hundred and sixty six days", "glass is made mostly from sand",
          "bamboo can grow almost a metre in a day", "zebras have black skin under their stripes",
          "sound travels faster in water than in air", "the heart beats about a hundred thousand times a day",
          "chess was played in India fifteen centuries ago"]
_SPORTS = ["tennis", "cricket", "basketball", "chess", "badminton", "volleyball", "table tennis", "rugby", "golf"]
_FOODS = ["porridge", "roast chicken", "vegetable soup", "cheese on toast", "spaghetti", "lemon tart",
          "rhubarb crumble", "fish and chips", "scrambled eggs", "fruit salad", "mushroom risotto", "pancakes"]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shapes(r: random.Random) -> list:
    """Each shape as a thunk, so only the chosen one draws from ``r``."""
    c = r.choice
    return [
        lambda: f"{c(_NAMES)} {c(_PAST)} the {c(_ADJ)} {c(_THINGS)} {c(_ADVERBS)}.",
        lambda: f"{_cap(c(_PEOPLE))} left a {c(_ADJ)} {c(_THINGS)} outside {c(_PLACES)} on {c(_DAYS)}.",
        lambda: f"Could you {c(_BASE)} the {c(_THINGS)} before {c(_NAMES)} gets home?",
        lambda: f"We bought {c(_NUMBERS)} {c(_PLURALS)} at {c(_PLACES)} last {c(_DAYS)}.",
        lambda: f"On the {c(['first', 'third', 'fifth', 'twelfth', 'twentieth', 'last'])} of {c(_MONTHS)}, "
                f"{c(_WEATHER)}.",
        lambda: f"{c(_NAMES)} was {c(_FEELINGS)} when {c(_PEOPLE)} asked to {c(_BASE)} the {c(_THINGS)}.",
        lambda: f"Did you know that {c(_FACTS)}?",
        lambda: f"My {c(['sister', 'brother', 'grandfather', 'friend', 'uncle', 'colleague'])} says that {c(_FACTS)}.",
        lambda: f"Please {c(_BASE)} these {c(_PLURALS)} and put them in {c(_PLACES)}.",
        lambda: f"Why would anyone {c(_BASE)} a {c(_ADJ)} {c(_THINGS)} in {c(_MONTHS)}?",
        lambda: f"{c(_NAMES)} and {c(_NAMES)} play {c(_SPORTS)} every {c(_DAYS)} evening.",
        lambda: f"For dinner we had {c(_FOODS)}, followed by {c(_FOODS)}.",
        lambda: f"The {c(_THINGS)} costs {c(_NUMBERS)} pounds, which seems {c(['fair', 'steep', 'cheap', 'odd'])} "
                f"to me.",
        lambda: f"After {c(_WEATHER)}, {c(_PEOPLE)} {c(_PAST)} the {c(_THINGS)}.",
        lambda: f"I think {c(_PEOPLE)} {c(_PAST)} my {c(_THINGS)}, but I cannot prove it.",
        lambda: f"\"Where is the {c(_THINGS)}?\" asked {c(_NAMES)}, looking around {c(_PLACES)}.",
        lambda: f"There are {c(_NUMBERS)} {c(_PLURALS)} on the shelf and {c(_NUMBERS)} in the drawer.",
        lambda: f"{c(_NAMES)} would rather eat {c(_FOODS)} than {c(_BASE)} the {c(_THINGS)}.",
        lambda: f"Last {c(_DAYS)} {c(_WEATHER)}, so we stayed inside {c(_PLACES)}.",
        lambda: f"Every {c(_MONTHS)}, {c(_PEOPLE)} gives {c(_NAMES)} a {c(_ADJ)} {c(_THINGS)}.",
    ]


def sentence(rng: random.Random) -> str:
    """One sentence; two in a fifth of the draws, so clip lengths vary (about 2 to 8 s)."""
    text = rng.choice(_shapes(rng))()
    if rng.random() < 0.2:
        text += " " + rng.choice(_shapes(rng))()
    return text
