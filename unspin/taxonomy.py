"""The SemEval-2023 Task 3 label set: persuasion techniques, their categories, frames and genres.

Every other module refers to labels by the canonical names defined here (the spellings of the
official scorer), so that model outputs, gold data and reports always agree. The definitions
and examples are shown to readers next to each detection, so they are written in plain words;
all examples are invented (fictional places and people), none is taken from the shared-task
data or guidelines.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "ABBREVIATIONS",
    "CATEGORIES",
    "FRAMES",
    "FRAME_NAMES",
    "GENRES",
    "GENRE_NAMES",
    "TECHNIQUES",
    "TECHNIQUE_NAMES",
    "Category",
    "Frame",
    "Genre",
    "Technique",
    "category_of",
    "normalize_label",
    "taxonomy_as_dict",
    "technique",
]


@dataclass(frozen=True)
class Category:
    """A group of related techniques; reports colour and mark highlights by category."""

    key: str
    name: str
    description: str
    color: str
    """Highlight background; #111 text on it meets WCAG AA (in fact >= 7:1)."""
    symbol: str
    """Short marker printed next to highlights so that colour is never the only cue."""


@dataclass(frozen=True)
class Technique:
    """One persuasion technique, as detected at span level."""

    name: str
    label: str
    category: str
    definition: str
    example: str


@dataclass(frozen=True)
class Frame:
    """One framing dimension: the angle from which an article presents its topic."""

    name: str
    label: str
    definition: str
    example: str


@dataclass(frozen=True)
class Genre:
    """One article genre: what kind of text the article is."""

    name: str
    label: str
    definition: str
    example: str


# Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
# deficiencies) mixed 40 % towards white so dark text stays readable on top.
_CATEGORY_LIST: tuple[Category, ...] = (
    Category(
        key="attack_on_reputation",
        name="Attack on reputation",
        description=(
            "Goes after the person or group behind an idea instead of the idea itself, "
            "so that readers distrust them and stop listening to what they say."
        ),
        color="#E69E66",  # vermillion
        symbol="A",
    ),
    Category(
        key="justification",
        name="Justification",
        description=(
            "Supports a claim by appealing to someone's authority, to what most people think, "
            "to shared values, to fear or to group pride, rather than by showing it is true."
        ),
        color="#66AAD1",  # blue
        symbol="J",
    ),
    Category(
        key="simplification",
        name="Simplification",
        description=(
            "Makes a complex issue look simple: a single cause, only two possible choices, "
            "or an unavoidable chain of consequences."
        ),
        color="#66C5AB",  # bluish green
        symbol="S",
    ),
    Category(
        key="distraction",
        name="Distraction",
        description=(
            "Moves attention away from the real issue or from what an opponent actually said, "
            "so the original point is never answered."
        ),
        color="#E0AFCA",  # reddish purple
        symbol="D",
    ),
    Category(
        key="call",
        name="Call",
        description=(
            "Pushes readers to act or to stop thinking: a catchy slogan, a sense that it is now "
            "or never, or a phrase that closes the discussion."
        ),
        color="#F6EF8E",  # yellow
        symbol="C",
    ),
    Category(
        key="manipulative_wording",
        name="Manipulative wording",
        description=(
            "Shapes how something is perceived through the choice of words rather than through "
            "argument: emotional words, exaggeration, deliberate vagueness or repetition."
        ),
        color="#F0C566",  # orange
        symbol="W",
    ),
)

# Order of the official SemEval-2023 Task 3 scorer file.
_TECHNIQUE_LIST: tuple[Technique, ...] = (
    Technique(
        name="Appeal_to_Authority",
        label="Appeal to authority",
        category="justification",
        definition=(
            "Presents a claim as true because an authority, expert or famous person supports it, "
            "instead of giving evidence. The 'authority' may not even be an expert on the topic."
        ),
        example=(
            "The new bypass will end all traffic jams in Elmbrook: a retired professor told us "
            "so, and he has never been wrong."
        ),
    ),
    Technique(
        name="Appeal_to_Popularity",
        label="Appeal to popularity",
        category="justification",
        definition=(
            "Argues that a claim is right, or that readers should do something, because many "
            "or most people already agree with it or do it."
        ),
        example=(
            "Almost every family in Marlow Bay has already switched to the new tram pass, so "
            "it must be the smart choice for you too."
        ),
    ),
    Technique(
        name="Appeal_to_Values",
        label="Appeal to values",
        category="justification",
        definition=(
            "Backs a position by tying it to values the audience holds dear, such as tradition, "
            "faith, freedom or fairness, as if that settled the question."
        ),
        example=(
            "Keeping the old market hall open is simply what a town that honours its heritage does."
        ),
    ),
    Technique(
        name="Appeal_to_Fear-Prejudice",
        label="Appeal to fear or prejudice",
        category="justification",
        definition=(
            "Promotes or rejects an idea by stirring up fear, anxiety or existing prejudice "
            "against a group, rather than by weighing the idea on its merits."
        ),
        example=(
            "If the council lets the new hostel open by the river, our children will no longer "
            "be safe walking home from school."
        ),
    ),
    Technique(
        name="Flag_Waving",
        label="Flag waving",
        category="justification",
        definition=(
            "Justifies an idea by appealing to pride in a group, such as a nation, region or "
            "party, or by claiming it serves that group's interests."
        ),
        example="Every true Valdorian will stand behind the new border tax.",
    ),
    Technique(
        name="Causal_Oversimplification",
        label="Causal oversimplification",
        category="simplification",
        definition=(
            "Blames a single cause for a problem that has several causes, or presents one event "
            "as the cause of another just because it came first."
        ),
        example=(
            "Unemployment in Riverton went up last year, and it is all because the mayor "
            "changed the bus timetable."
        ),
    ),
    Technique(
        name="False_Dilemma-No_Choice",
        label="False dilemma or no choice",
        category="simplification",
        definition=(
            "Presents two options as the only possible ones when others exist, or presents a "
            "single course of action as the only one left."
        ),
        example="Either we build the stadium this year, or our town will slowly die.",
    ),
    Technique(
        name="Consequential_Oversimplification",
        label="Consequential oversimplification",
        category="simplification",
        definition=(
            "Claims that a first step will inevitably set off a chain of events, usually ending "
            "in disaster (or sometimes in triumph), without showing why each step would follow."
        ),
        example=(
            "Allow one food truck on the square and soon there will be fifty, the restaurants "
            "will close and the old town will be empty."
        ),
    ),
    Technique(
        name="Straw_Man",
        label="Straw man",
        category="distraction",
        definition=(
            "Replaces an opponent's actual position with a distorted or exaggerated version "
            "that is easier to attack, then attacks that version."
        ),
        example=(
            "Councillor Reyes wants one fewer car lane on Main Street. In other words, she wants "
            "to ban cars and make pensioners walk to the hospital."
        ),
    ),
    Technique(
        name="Red_Herring",
        label="Red herring",
        category="distraction",
        definition=(
            "Brings up a topic that has nothing to do with the issue under discussion, so that "
            "attention drifts away from the original point."
        ),
        example=(
            "Asked about the audit that is six months late, the treasurer talked about how "
            "lovely the new park looks this spring."
        ),
    ),
    Technique(
        name="Whataboutism",
        label="Whataboutism",
        category="distraction",
        definition=(
            "Answers a criticism by pointing to a similar wrong done by the critic or by others, "
            "instead of responding to the criticism itself."
        ),
        example=(
            "The opposition complains that our budget is late? What about the bridge they left "
            "half-built for six years?"
        ),
    ),
    Technique(
        name="Slogans",
        label="Slogans",
        category="call",
        definition=(
            "Uses a short, punchy phrase that is easy to remember and repeat, often as a call "
            "to action, in place of an argument."
        ),
        example="Clean streets, safe streets: vote yes on Sunday!",
    ),
    Technique(
        name="Appeal_to_Time",
        label="Appeal to time",
        category="call",
        definition=(
            "Argues that something must be done right now because the moment has come or time "
            "is running out, which discourages careful thought."
        ),
        example=(
            "The time for talk is over: the council must approve the flood wall tonight, "
            "before it is too late."
        ),
    ),
    Technique(
        name="Conversation_Killer",
        label="Conversation killer",
        category="call",
        definition=(
            "Uses a stock phrase that shuts down discussion and discourages critical thinking, "
            "for example by declaring a matter closed or beyond question."
        ),
        example="The decision has been made, it is what it is, and there is nothing more to discuss.",
    ),
    Technique(
        name="Loaded_Language",
        label="Loaded language",
        category="manipulative_wording",
        definition=(
            "Uses words or phrases with strong emotional charge, positive or negative, to sway "
            "the reader's feelings about something rather than inform them."
        ),
        example="The council's reckless scheme will gut our beloved library.",
    ),
    Technique(
        name="Repetition",
        label="Repetition",
        category="manipulative_wording",
        definition=(
            "Repeats the same word, phrase or idea again and again so that readers come to "
            "accept it through familiarity rather than through evidence."
        ),
        example="We need the bypass. Dunmore needs the bypass. Our children need the bypass.",
    ),
    Technique(
        name="Exaggeration-Minimisation",
        label="Exaggeration or minimisation",
        category="manipulative_wording",
        definition=(
            "Makes something look much bigger, better or worse than it is, or plays it down so "
            "that it seems less important than it is."
        ),
        example=(
            "The mayor called the two-day water cut 'a tiny hiccup', while her rival called it "
            "the worst disaster in the town's history."
        ),
    ),
    Technique(
        name="Obfuscation-Vagueness-Confusion",
        label="Obfuscation, vagueness or confusion",
        category="manipulative_wording",
        definition=(
            "Uses deliberately unclear or ambiguous wording, so readers can read into it what "
            "they like and the speaker cannot be pinned down to a clear claim."
        ),
        example=(
            "The plan will address the relevant issues in an appropriate way, at the "
            "appropriate time, with the appropriate partners."
        ),
    ),
    Technique(
        name="Name_Calling-Labeling",
        label="Name calling or labelling",
        category="attack_on_reputation",
        definition=(
            "Attaches a label to a person or group, usually insulting but sometimes flattering, "
            "so that readers judge them by the label rather than by what they do or say."
        ),
        example="The bike-lane fanatics on the council have struck again.",
    ),
    Technique(
        name="Doubt",
        label="Casting doubt",
        category="attack_on_reputation",
        definition=(
            "Questions the credibility, competence or trustworthiness of someone or something, "
            "often without evidence, to undermine what they say or do."
        ),
        example=(
            "Can we really trust a treasurer who has never managed a budget this size to get "
            "the numbers right?"
        ),
    ),
    Technique(
        name="Guilt_by_Association",
        label="Guilt by association",
        category="attack_on_reputation",
        definition=(
            "Attacks a person, group or idea by linking it to someone or something the audience "
            "already strongly dislikes."
        ),
        example=(
            "Closing the square at night is exactly what the old dictatorship of Marenia used "
            "to do."
        ),
    ),
    Technique(
        name="Appeal_to_Hypocrisy",
        label="Appeal to hypocrisy",
        category="attack_on_reputation",
        definition=(
            "Attacks someone's reputation by pointing out that their past words or actions "
            "contradict what they say now, so they seem inconsistent or hypocritical."
        ),
        example=(
            "The mayor lectures us about saving water, yet she filled her private pool every "
            "summer of the drought."
        ),
    ),
    Technique(
        name="Questioning_the_Reputation",
        label="Questioning the reputation",
        category="attack_on_reputation",
        definition=(
            "Attacks the character or moral standing of a person or group with strong negative "
            "claims, to undermine them as a whole rather than a specific argument."
        ),
        example=(
            "The developer behind the project is known for a long trail of broken promises and "
            "shady deals."
        ),
    ),
)

# Frame dimensions of the Media Frames Corpus, as used in SemEval-2023 Task 3.
_FRAME_LIST: tuple[Frame, ...] = (
    Frame(
        name="Economic",
        label="Economic",
        definition=(
            "Presents the issue in terms of money: costs, benefits, profits, jobs or other "
            "financial consequences for people, businesses or the state."
        ),
        example=(
            "The summer festival is expected to bring two million crowns to local hotels and shops."
        ),
    ),
    Frame(
        name="Capacity_and_resources",
        label="Capacity and resources",
        definition=(
            "Focuses on whether there are enough people, equipment, space, time or funds to "
            "deal with the issue, or on the lack of them."
        ),
        example="The hospital in Norbury has only twelve nurses to cover the whole night shift.",
    ),
    Frame(
        name="Morality",
        label="Morality",
        definition=(
            "Presents the issue as a question of right and wrong, duty, conscience or religious "
            "teaching."
        ),
        example="Turning families away from the shelter in winter is simply wrong, the bishop said.",
    ),
    Frame(
        name="Fairness_and_equality",
        label="Fairness and equality",
        definition=(
            "Focuses on how fairly rights, burdens and resources are shared, on equal treatment "
            "under the rules, and on discrimination."
        ),
        example=(
            "Residents of the east district pay the same taxes as everyone else but wait twice "
            "as long for a bus."
        ),
    ),
    Frame(
        name="Legality_Constitutionality_and_jurisprudence",
        label="Legality, constitutionality and jurisprudence",
        definition=(
            "Focuses on laws, court cases, constitutional rights and who has the legal power "
            "to decide the issue."
        ),
        example="The supreme court will rule next month on whether the curfew breaks the constitution.",
    ),
    Frame(
        name="Policy_prescription_and_evaluation",
        label="Policy prescription and evaluation",
        definition=(
            "Discusses which policies should be adopted to deal with the issue, or whether "
            "existing policies are working."
        ),
        example=(
            "Critics say the parking scheme has failed to reduce traffic and should be replaced "
            "by a congestion charge."
        ),
    ),
    Frame(
        name="Crime_and_punishment",
        label="Crime and punishment",
        definition=(
            "Focuses on breaking the law, on policing and enforcement, and on sentences and "
            "punishment."
        ),
        example="Police arrested three men suspected of stealing copper cable from the railway.",
    ),
    Frame(
        name="Security_and_defense",
        label="Security and defense",
        definition=(
            "Presents the issue as a threat to the safety of people, a community or a country, "
            "and discusses defence and protection against it."
        ),
        example="The ministry is moving extra troops to the northern border after a drone incursion.",
    ),
    Frame(
        name="Health_and_safety",
        label="Health and safety",
        definition="Focuses on health care, illness, injuries, sanitation and public safety.",
        example="Doctors say the contaminated well has made dozens of villagers ill.",
    ),
    Frame(
        name="Quality_of_life",
        label="Quality of life",
        definition=(
            "Focuses on how the issue affects people's everyday lives: comfort, wellbeing, "
            "mobility, access to services and opportunities."
        ),
        example="Since the ferry stopped running, islanders spend three hours a day getting to work.",
    ),
    Frame(
        name="Cultural_identity",
        label="Cultural identity",
        definition=(
            "Connects the issue to the traditions, customs, language or values that define a "
            "community or a nation."
        ),
        example=(
            "For the fishing villages along the coast, the spring boat festival is part of who "
            "they are."
        ),
    ),
    Frame(
        name="Public_opinion",
        label="Public opinion",
        definition=(
            "Focuses on what the public thinks about the issue: polls, protests, petitions and "
            "popular reactions."
        ),
        example="A new poll shows that two thirds of voters oppose the airport expansion.",
    ),
    Frame(
        name="Political",
        label="Political",
        definition=(
            "Presents the issue in terms of politics: parties, elections, political strategy, "
            "alliances and lobbying."
        ),
        example=(
            "The governing party hopes the tax cut will win back voters before the autumn election."
        ),
    ),
    Frame(
        name="External_regulation_and_reputation",
        label="External regulation and reputation",
        definition=(
            "Focuses on a country's relations with other countries: its reputation abroad, "
            "treaties, international rules, cooperation and disputes."
        ),
        example="Neighbouring states have criticised Veloria for pulling out of the river treaty.",
    ),
)

_GENRE_LIST: tuple[Genre, ...] = (
    Genre(
        name="opinion",
        label="Opinion",
        definition=(
            "The writer argues for a point of view, as in an editorial, column or commentary; "
            "persuasion is expected, but readers should know it is there."
        ),
        example="In my view, closing the library is a mistake this town will regret for years.",
    ),
    Genre(
        name="reporting",
        label="Reporting",
        definition=(
            "The article aims to inform about events and facts, attributing claims to their "
            "sources rather than arguing for a position."
        ),
        example="The council voted 7 to 4 on Tuesday to close the library, a spokesperson said.",
    ),
    Genre(
        name="satire",
        label="Satire",
        definition=(
            "The article uses humour, irony or absurd exaggeration to mock or criticise its "
            "target; it is not meant to be taken literally."
        ),
        example=(
            "Council closes library to save money on books, then hires a consultant to find "
            "out why nobody reads anymore."
        ),
    ),
)

CATEGORIES: dict[str, Category] = {c.key: c for c in _CATEGORY_LIST}
TECHNIQUES: dict[str, Technique] = {t.name: t for t in _TECHNIQUE_LIST}
FRAMES: dict[str, Frame] = {f.name: f for f in _FRAME_LIST}
GENRES: dict[str, Genre] = {g.name: g for g in _GENRE_LIST}

# Two-letter codes: markers where highlights must also read without colour (the terminal),
# and a short way to name a technique in a corpus query ("NC").
ABBREVIATIONS: dict[str, str] = {
    "Appeal_to_Authority": "AA",
    "Appeal_to_Popularity": "AP",
    "Appeal_to_Values": "AV",
    "Appeal_to_Fear-Prejudice": "AF",
    "Flag_Waving": "FW",
    "Causal_Oversimplification": "CO",
    "False_Dilemma-No_Choice": "FD",
    "Consequential_Oversimplification": "CQ",
    "Straw_Man": "SM",
    "Red_Herring": "RH",
    "Whataboutism": "WH",
    "Slogans": "SL",
    "Appeal_to_Time": "AT",
    "Conversation_Killer": "CK",
    "Loaded_Language": "LL",
    "Repetition": "RP",
    "Exaggeration-Minimisation": "EM",
    "Obfuscation-Vagueness-Confusion": "OV",
    "Name_Calling-Labeling": "NC",
    "Doubt": "DB",
    "Guilt_by_Association": "GA",
    "Appeal_to_Hypocrisy": "AH",
    "Questioning_the_Reputation": "QR",
}

TECHNIQUE_NAMES: tuple[str, ...] = tuple(TECHNIQUES)
FRAME_NAMES: tuple[str, ...] = tuple(FRAMES)
GENRE_NAMES: tuple[str, ...] = tuple(GENRES)

_DASHES = re.compile(r"\s*[\u2010\u2011\u2012\u2013\u2014\u2212-]\s*")
_SPACES = re.compile(r"[\s_]+")


def _key(name: str) -> str:
    """Fold the harmless differences (case, blanks vs underscores, dash kind) into one key.

    Nothing else is folded: a misspelt label must not silently turn into a real one.
    """
    return _SPACES.sub("_", _DASHES.sub("-", name.strip())).casefold()


def _lookup(entries: dict[str, Technique] | dict[str, Frame] | dict[str, Genre]) -> dict[str, str]:
    """Map the folded canonical name and the folded human label of each entry to its name."""
    table: dict[str, str] = {}
    for name, entry in entries.items():
        table[_key(name)] = name
        table.setdefault(_key(entry.label), name)
    return table


_LOOKUPS: dict[str, dict[str, str]] = {
    "technique": _lookup(TECHNIQUES),
    "frame": _lookup(FRAMES),
    "genre": _lookup(GENRES),
}


def normalize_label(name: str, kind: str = "technique") -> str | None:
    """Return the canonical name for ``name``, or None if it is not a known label.

    Case, surrounding blanks, spaces vs underscores and the kind of dash are ignored, and the
    human label ("Loaded language") is accepted too. Anything else gives None, so that callers
    can report and skip bad labels in the data (e.g. "Appeal_to_Fear-Prejudi-čce").
    """
    try:
        table = _LOOKUPS[kind]
    except KeyError:
        raise ValueError(
            f"unknown label kind {kind!r}; expected one of {', '.join(_LOOKUPS)}"
        ) from None
    if not isinstance(name, str):
        return None
    return table.get(_key(name))


def technique(name: str) -> Technique:
    """Return the technique called ``name`` (harmless spelling variants are accepted).

    Raises KeyError naming the closest known techniques, so typos are quick to fix.
    """
    canonical = normalize_label(name, "technique")
    if canonical is not None:
        return TECHNIQUES[canonical]
    close = difflib.get_close_matches(str(name), TECHNIQUE_NAMES, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise KeyError(
        f"unknown persuasion technique {name!r}{hint} (known: {', '.join(TECHNIQUE_NAMES)})"
    )


def category_of(technique_name: str) -> Category:
    """Return the category of a technique, e.g. to colour its highlight."""
    return CATEGORIES[technique(technique_name).category]


def taxonomy_as_dict() -> dict[str, Any]:
    """Return the whole taxonomy as JSON-ready data, in canonical order (lists, not dicts).

    Each call builds fresh objects, so callers may modify the result freely.
    """
    return {
        "categories": [
            {
                **asdict(c),
                "techniques": [t.name for t in _TECHNIQUE_LIST if t.category == c.key],
            }
            for c in _CATEGORY_LIST
        ],
        "techniques": [asdict(t) for t in _TECHNIQUE_LIST],
        "frames": [asdict(f) for f in _FRAME_LIST],
        "genres": [asdict(g) for g in _GENRE_LIST],
    }
