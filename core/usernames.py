"""User names chosen at sign-up: Unicode-normalised, from a safe character set, one script, not a look-alike.

A user name appears in URLs (``/api/projects/<id>/members/<username>/``), pages, exports and the label
history, so it must be unambiguous: what a reviewer reads is who acted. The rules, in order:
- NFKC normalisation (full-width ``ｍａｎａｇｅｒ`` becomes ``manager``), then trimmed;
- control characters, zero-width and other invisible format characters, and any white space are refused;
- the safe set: letters, combining marks, digits and ``. _ - @``; it starts with a letter or a digit (so never
  ``.`` or ``..``, and never ``/``: every valid name is one URL path segment);
- one writing system (script): ``mаnager`` with a Cyrillic ``а`` is refused. Japanese may mix Han, Hiragana
  and Katakana; any script may use ASCII digits and the punctuation above;
- a look-alike of an existing user name is refused: names are compared by a "skeleton" that case-folds and
  maps the Cyrillic and Greek letters that look like Latin ones (Unicode's confusables, the common subset).
"""
import unicodedata

from quorum.lib.errors import QuorumError

MAX_LENGTH = 150  # django.contrib.auth's username column
PUNCTUATION = frozenset("._-@")
JAPANESE = frozenset({"CJK", "HIRAGANA", "KATAKANA"})
# Cyrillic and Greek letters that render like Latin ones (from Unicode's confusables.txt), lower case after casefold.
LOOK_ALIKES = str.maketrans({
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m",
    "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w", "ѡ": "w", "ү": "y",
    "ё": "e", "ї": "i", "ɑ": "a",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w", "γ": "y", "ϲ": "c", "ϳ": "j",
    "0": "o", "1": "l", "|": "l",
})


class InvalidUsername(QuorumError):
    code = "invalid_username"


def script_of(char: str) -> str | None:
    """The writing system of a letter or mark, from its Unicode name (``CYRILLIC SMALL LETTER A``);
    None for digits and punctuation, which every script may use."""
    if not unicodedata.category(char).startswith(("L", "M")):
        return None
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "IDEOGRAPHIC")):
        return "CJK"
    if unicodedata.category(char).startswith("M") and name.startswith("COMBINING"):
        return None  # generic combining marks (accents) go with any script
    return name.split(" ", 1)[0] or "UNKNOWN"


def skeleton(username: str) -> str:
    """What a name looks like, for comparing names: case-folded, look-alike letters mapped to Latin."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return unicodedata.normalize("NFD", folded).translate(LOOK_ALIKES)


def _describe(char: str) -> str:
    fallback = "a control character" if unicodedata.category(char) == "Cc" else "an unnamed character"
    return f"U+{ord(char):04X}, {unicodedata.name(char, fallback)}"


def normalize_username(raw: str) -> str:
    """The user name to store for ``raw``, or InvalidUsername saying what is wrong and how to fix it."""
    name = unicodedata.normalize("NFKC", raw or "").strip()
    if not name:
        raise InvalidUsername("Choose a user name: it is empty.")
    if len(name) > MAX_LENGTH:
        raise InvalidUsername(f"The user name is {len(name)} characters long; the limit is {MAX_LENGTH}.")
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn") or category.startswith("Z"):
            kind = "white space" if category.startswith("Z") or char in "\t\r\n" else "an invisible or control character"
            raise InvalidUsername(f"The user name contains {kind} ({_describe(char)}). Use letters, digits and "
                                  ". _ - @ only.")
        if not (category.startswith(("L", "M", "N")) and (category == "Nd" or not category.startswith("N"))
                or char in PUNCTUATION):
            raise InvalidUsername(f"The user name contains {_describe(char)}, which is not allowed. Use letters, "
                                  "digits and . _ - @ only.")
    if not unicodedata.category(name[0]).startswith(("L", "N")):
        raise InvalidUsername("The user name must start with a letter or a digit.")
    scripts = {s for s in map(script_of, name) if s}
    if len(scripts) > 1 and not scripts <= JAPANESE:
        raise InvalidUsername(f"The user name mixes writing systems ({', '.join(sorted(scripts)).lower()}), so "
                              "it could pass for another name. Write it in one script.")
    return name


def check_new_username(raw: str, existing) -> str:
    """Normalise ``raw`` and refuse it if it is taken or looks like one of the ``existing`` names."""
    name = normalize_username(raw)
    mine = skeleton(name)
    for other in existing:
        if skeleton(other) == mine:
            same = other.casefold() == name.casefold()
            raise InvalidUsername("That user name is taken; choose another one." if same else
                                  "That user name looks like an existing one; choose one that cannot be mistaken "
                                  "for another person.")
    return name
