"""English sentences for the built-in corpora.

Two sources of text:

* ``generate_sentences``: the project's own grammar-based generator. Word
  lists of common English words, grouped by part of speech and meaning, fill
  about thirty sentence templates ("The old fisherman carried seven heavy
  baskets to the market before dawn."). It is deterministic given a seed and
  needs no data.
* ``sentences_from_text_dir``: sentences cut out of plain-text books (for
  instance Project Gutenberg ``*.txt`` files).

Each sentence comes in two renderings: a LibriSpeech-style ``transcript``
(upper case, only A-Z, apostrophe and single spaces, numbers in words) and a
Common-Voice-style ``text`` (mixed case and punctuated), which is also what a
speech synthesiser reads. For generated sentences
``speechbrain_ee.dataio.text.normalize_text(text) == transcript``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MIN_WORDS = 4
MAX_WORDS = 16


def _words(text):
    """Splits a whitespace-separated word list into a tuple."""
    return tuple(text.split())


# ---------------------------------------------------------------------------
# Nouns
# ---------------------------------------------------------------------------
PEOPLE = _words(
    """
    fisherman farmer baker teacher doctor nurse sailor soldier captain king
    queen prince princess merchant miller carpenter blacksmith shepherd hunter
    tailor weaver potter painter poet writer singer dancer musician drummer
    fiddler student scholar priest monk nun bishop judge lawyer clerk banker
    shopkeeper grocer butcher cook servant maid butler gardener driver pilot
    traveler stranger neighbor visitor guest landlord tenant widow orphan
    beggar thief robber prisoner guard officer policeman sheriff mayor
    governor minister general colonel sergeant knight lord lady duke duchess
    emperor warrior hero giant wizard witch child boy girl man woman gentleman
    engineer mechanic miner porter messenger postman milkman watchman ferryman
    boatman innkeeper housekeeper governess tutor professor surgeon chemist
    inventor explorer settler trader peddler jeweler goldsmith mason builder
    plumber barber dentist librarian secretary reporter editor printer
    photographer artist sculptor actor actress clown juggler magician acrobat
    athlete runner swimmer rider coachman peasant villager pilgrim hermit
    schoolmaster shoemaker woodcutter fishwife sweep nobleman
    """
)
RELATIVES = _words(
    """
    mother father brother sister uncle aunt cousin nephew niece grandmother
    grandfather husband wife son daughter friend neighbor baby
    """
)
ANIMALS = _words(
    """
    dog cat horse cow pig sheep goat hen rooster duck goose swan owl eagle hawk
    crow raven sparrow robin pigeon parrot fox wolf bear deer rabbit hare
    squirrel mouse rat badger otter beaver frog toad snake lizard turtle whale
    dolphin seal shark crab lobster bee wasp ant spider butterfly moth beetle
    lion tiger elephant monkey camel donkey mule pony calf lamb kitten puppy
    bull mare falcon heron seagull pelican penguin zebra giraffe kangaroo
    """
)
THINGS = _words(
    """
    basket box bag sack bucket barrel jar bottle cup mug bowl plate dish spoon
    fork knife pan pot kettle teapot lamp lantern candle match torch rope
    chain hook nail hammer saw axe shovel spade rake broom brush comb mirror
    clock watch key lock chest trunk suitcase purse wallet coin ring necklace
    bracelet brooch crown sword shield spear bow arrow whistle bell drum flute
    violin guitar piano harp trumpet horn ball doll kite toy puzzle compass
    telescope camera umbrella cane stick pipe hat cap bonnet coat jacket cloak
    scarf glove mitten shoe boot sock shirt dress skirt apron blanket pillow
    towel curtain carpet rug mat cushion chair table desk bench stool bed
    cradle shelf cupboard drawer ladder wheel cart wagon sled boat canoe raft
    paddle oar sail anchor net flag banner tent fence gate door window
    pencil pen envelope stamp parcel package ticket photograph picture
    painting statue vase flower feather stone pebble shell brick log plank
    board branch leaf seed ribbon thread needle button buckle belt badge medal
    trophy jewel diamond pearl crystal mask costume wig helmet saddle bridle
    harness whip bicycle engine motor radio telephone battery wire cable pump
    tube hose sponge tray crate jug pitcher flask candlestick quilt mattress
    hammock chalk slate ruler notebook calendar album folder wrench
    screwdriver drill chisel sickle scythe plow hoe pitchfork trowel
    wheelbarrow spindle loom anvil bellows lid handle cork sieve funnel ladle
    kettledrum thimble locket pendant tablecloth napkin armchair
    """
)
FOOD_COUNT = _words(
    """
    apple pear plum cherry peach grape orange lemon banana melon strawberry
    potato tomato onion carrot cabbage turnip pumpkin pie cake biscuit cookie
    muffin pancake sandwich sausage egg nut walnut chestnut almond pudding tart
    roll bun loaf pickle olive mushroom cucumber radish oyster herring
    """
)
FOOD_LIQUID = _words("milk cream soup stew tea coffee cocoa cider juice porridge oatmeal")
FOOD_SOLID = _words(
    """
    bread cheese butter rice honey jam sugar salt pepper bacon ham beef mutton
    chicken lettuce spinach garlic corn
    """
)
FOOD_MASS = FOOD_LIQUID + FOOD_SOLID
LIQUID_CONTAINERS = _words("bowl cup jar bottle glass pot jug")
SOLID_CONTAINERS = _words("plate basket jar sack slice piece bag")
PLACES = _words(
    """
    market church chapel cathedral river harbor bridge village town city castle
    palace cottage farm barn stable garden orchard field meadow forest wood
    hill mountain valley lake pond stream well beach shore island cliff cave
    road lane street square station inn tavern hotel shop bakery library
    school college hospital prison courthouse office bank museum theater
    factory mill mine quarry dock wharf pier lighthouse tower wall camp fort
    border desert jungle swamp marsh kitchen cellar attic parlor hall corridor
    staircase bedroom nursery study workshop shed greenhouse vineyard pasture
    cemetery park playground zoo circus fair canal fountain courtyard
    monastery temple cabin hut ranch plantation bay coast ocean sea creek
    waterfall glacier volcano canyon ridge plain prairie pharmacy cafe
    restaurant airport stadium gallery studio warehouse shipyard embassy
    crossroads
    """
)
PLACE_NAMES = _words(
    """
    London Paris Rome Boston Dublin Edinburgh Vienna Venice Madrid Lisbon
    Berlin Moscow Cairo Athens Glasgow Oxford Cambridge Bristol Liverpool
    Manchester Chicago Denver Texas Canada Scotland Ireland Wales France Spain
    Italy Egypt India China Africa America Europe Norway Sweden Holland
    """
)
TEXTS = _words(
    """
    letter book note story poem song message report newspaper diary list
    recipe notice telegram prayer speech ballad riddle sermon chapter page
    contract will receipt invitation journal novel essay address
    """
)
EVENTS = _words(
    """
    war harvest election wedding funeral journey voyage accident trial storm
    flood fire famine festival holiday meeting quarrel battle victory treaty
    dinner supper breakfast lunch concert dance party race game match
    christening sale auction robbery earthquake eclipse parade picnic
    """
)
TOPICS = _words(
    """
    weather price rent debt plan secret rumor truth danger future past history
    law money business lesson exam music garden prize road mystery scandal
    railway treasure crops taxes wages
    """
)
FIRST_NAMES = _words(
    """
    Mary John Thomas William James Elizabeth Anne Margaret Henry Edward George
    Charles Robert Richard Arthur Alice Emma Jane Sarah Catherine Helen Lucy
    Grace Rose Ruth Martha Clara Agnes Edith Florence Harriet Louisa Frances
    Eleanor Isabel Julia Laura Ellen Fanny Hannah Rebecca Rachel Susan Molly
    Nancy Dorothy Betty Walter Frank Albert Alfred Ernest Frederick Harold
    Herbert Hugh Jack Joseph Samuel Daniel David Peter Paul Philip Stephen
    Michael Patrick Andrew Simon Matthew Oliver Oscar Victor Felix Jasper Silas
    Tom Harry Ben Tim Ned Sam Jim Bill Joe Dick Ralph Roger Lydia Amelia
    Beatrice Cecil Maud Bertha Phoebe Esther Kitty Polly Jenny Nell
    """
)
SURNAMES = _words(
    """
    Brown Smith Taylor Walker Wright Turner Hill Green Cooper Carter Parker
    Morgan Hughes Hall Clarke Ward Bennett Palmer Lane Hunt Grant Kelly Murphy
    Reed Fletcher Harper Webb Foster Howard Russell Gray Wood Stone Bell Young
    King Lee Martin Price Barnes Dixon Crawford Sullivan Hudson Lawson
    """
)
TITLES = ("Mr.", "Mrs.", "Dr.", "Captain", "Professor", "Miss", "Judge", "Colonel")

# ---------------------------------------------------------------------------
# Adjectives and adverbs
# ---------------------------------------------------------------------------
ADJ_THING = _words(
    """
    old new heavy light small large big little tiny huge long short wide
    narrow thick thin round square flat sharp smooth rough soft hard warm cold
    wet dry clean dirty empty full broken cracked rusty shiny dusty muddy
    wooden iron silver golden copper brass leather woolen cotton silk plain
    fancy pretty ugly beautiful strange curious ancient modern precious
    valuable cheap expensive useful useless fragile sturdy worn faded bright
    dark pale painted carved polished twisted bent folded torn patched lovely
    splendid enormous delicate red blue green yellow black white brown gray
    purple pink scarlet crimson striped spotted checkered glittering hollow
    crooked greasy sticky damp rotten stolen borrowed forgotten familiar
    """
)
ADJ_PERSON = _words(
    """
    kind cruel gentle brave timid clever foolish wise proud humble honest lazy
    busy tired hungry thirsty angry happy sad cheerful lonely nervous anxious
    calm patient eager careful careless polite rude quiet noisy shy bold young
    old elderly wealthy poor rich generous greedy jolly grumpy stubborn loyal
    faithful famous lucky unlucky friendly sleepy weary sick strong weak
    handsome graceful clumsy merry serious silent jealous grateful cunning
    sensible ragged barefoot frightened puzzled cheerless tall thin fat
    """
)
ADJ_PLACE = _words(
    """
    quiet busy crowded empty distant nearby narrow muddy sunny shady peaceful
    noisy lonely deserted famous ancient haunted hidden rocky sandy grassy
    snowy frozen misty little dark cozy dusty steep wild pleasant gloomy
    enormous tiny crumbling flooded beautiful old new
    """
)
ADJ_ANIMAL = _words(
    """
    small large big little tiny huge old young fat thin hungry sleepy lazy
    wild tame fierce gentle shy noisy clever black white brown gray spotted
    striped lame wounded frightened playful hairy fluffy lost stray
    """
)
ADJ_FOOD = _words(
    """
    fresh ripe sweet sour bitter rotten juicy hot cold warm stale crisp tender
    salty spicy delicious green red small large big golden burnt baked
    roasted boiled fried
    """
)
ADJ_WEATHER = _words(
    "cold warm windy rainy foggy stormy cloudy sunny frosty chilly damp hot mild bitter"
)
ADJ_ABSTRACT = _words(
    """
    strange wonderful terrible dreadful sad happy surprising exciting boring
    simple difficult silly funny true false remarkable ordinary important
    shocking welcome curious unexpected
    """
)
ADVERBS = _words(
    """
    quietly slowly quickly carefully suddenly gently softly loudly happily
    sadly angrily eagerly proudly bravely calmly nervously patiently politely
    rudely silently swiftly steadily cheerfully wearily anxiously boldly
    gladly kindly briskly lazily merrily cautiously secretly openly firmly
    warmly coldly sharply plainly neatly easily bitterly fiercely foolishly
    gracefully hastily hurriedly joyfully keenly noisily rapidly roughly
    sleepily smoothly sternly stiffly sweetly tenderly thoughtfully uneasily
    wildly wisely awkwardly clumsily faithfully gratefully heavily lightly
    """
)

# ---------------------------------------------------------------------------
# Verbs: "base" for regular verbs (past by rule), "base:past" otherwise.
# ---------------------------------------------------------------------------
VERBS_THING = _words(
    """
    carry lift drop:dropped find:found lose:lost buy:bought sell:sold
    bring:brought take:took hide:hid wash paint fix mend open close
    break:broke build:built make:made fill empty pack load clean polish
    hang:hung throw:threw catch:caught kick push pull drag:dragged hold:held
    keep:kept borrow lend:lent return steal:stole share count weigh measure
    examine inspect collect gather choose:chose want need like love admire
    notice see:saw watch touch shake:shook fold wrap:wrapped tie cut:cut burn
    bury sell:sold trade order deliver send:sent receive store guard mark sort
    stack pile spill scrub:scrubbed sweep:swept shut:shut lock unlock sharpen
    bend:bent twist roll spin:spun swing:swung toss grab:grabbed seize
    snatch sew knit:knitted carve sketch draw:drew decorate repair replace
    remove move place lay:laid put:put leave:left forget:forgot remember
    recognize describe test try use wear:wore rent own inherit win:won offer
    show:showed fetch hire pawn
    """
)
VERBS_PERSON = _words(
    """
    meet:met help call follow thank greet warn teach:taught visit invite
    answer ask join chase rescue protect comfort praise blame scold
    forgive:forgave trust doubt obey serve pay:paid fight:fought defeat marry
    kiss hug:hugged wake:woke feed:fed nurse guide lead:led remind amuse
    frighten surprise annoy disturb interrupt ignore envy pity welcome tease
    trick punish reward miss heal seek:sought notice recognize watch
    """
)
VERBS_FOOD = _words(
    """
    eat:ate cook bake taste buy:bought sell:sold share serve roast boil
    fry slice peel chop:chopped grow:grew pick gather swallow devour smell
    prepare carry steal:stole want
    """
)
VERBS_PLACE = _words(
    """
    visit leave:left clean paint reach cross enter explore search guard sweep:swept
    decorate approach defend describe rebuild:rebuilt abandon avoid pass
    watch sketch photograph
    """
)
VERBS_TEXT = _words(
    """
    read:read write:wrote copy sign tear:tore burn seal post finish
    begin:began translate recite memorize study print publish hide:hid
    find:found lose:lost send:sent receive
    """
)
VERBS_INTRANSITIVE = _words(
    """
    sleep:slept laugh wait smile cry sing:sang dance shout whisper sigh cough
    sneeze yawn pray rest work play listen nod:nodded frown tremble shiver
    hesitate stumble fall:fell kneel:knelt sit:sat stand:stood wake:woke
    dream hum:hummed whistle groan scream weep:wept blush grin:grinned wave
    bow agree argue complain stay remain disappear vanish recover shrug:shrugged
    stare wink gasp pause relax struggle succeed fail
    """
)
VERBS_ANIMAL = _words(
    """
    sleep:slept rest wait play jump bark howl growl squeak purr sing:sang
    chirp splash wander drink:drank tremble shiver vanish hide:hid swim:swam
    """
)
VERBS_MOTION = _words(
    """
    walk run:ran hurry ride:rode drive:drove sail wander climb march row
    swim:swam crawl creep:crept stroll rush travel:traveled fly:flew limp jog:jogged
    dash race gallop hike skate sneak return go:went come:came hasten trudge
    stagger tiptoe drift flee:fled journey paddle cycle
    """
)
VERBS_ARRIVE = _words("arrive return leave:left wake:woke come:came")
# Preposition before a place after each arrival verb ("" for none).
ARRIVE_PREPOSITIONS = {"arrive": "at", "return": "to", "leave": "", "wake": "in", "come": "to"}
VERBS_SAY = _words(
    """
    say:said think:thought know:knew believe hear:heard notice remember
    promise explain suspect feel:felt decide discover learn realize guess
    insist admit:admitted suppose fear hope claim
    """
)
MOTION_PREPOSITIONS = _words("to toward across through along into around past over")
PLACE_PREPOSITIONS = _words(
    "in near behind beside inside outside by at under below above beyond"
)
# ---------------------------------------------------------------------------
# Time, numbers and function words
# ---------------------------------------------------------------------------
DAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = _words(
    "January February March April May June July August September October November December"
)
SEASONS = _words("spring summer autumn winter")
PARTS_OF_DAY = _words("morning afternoon evening night")
MEALS = _words("breakfast lunch dinner supper")
TIME_PHRASES = (
    "before dawn",
    "at dawn",
    "at noon",
    "at midnight",
    "at sunset",
    "at sunrise",
    "at daybreak",
    "at nightfall",
    "yesterday",
    "last night",
    "last week",
    "last year",
    "the next morning",
    "the following day",
    "early",
    "late",
    "once again",
    "long ago",
    "at last",
    "soon afterward",
    "by moonlight",
    "during the night",
    "during the storm",
    "before the rain",
    "after the rain",
    "in a hurry",
    "without a word",
    "for a while",
    "all day",
    "this afternoon",
    "every evening",
)
ONES = _words(
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
)
TENS = _words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
ORDINALS = _words(
    "first second third fourth fifth sixth seventh eighth ninth tenth "
    "eleventh twelfth last"
)
PRONOUNS = {
    # subject: (object, possessive, third person singular)
    "I": ("me", "my", False),
    "you": ("you", "your", False),
    "he": ("him", "his", True),
    "she": ("her", "her", True),
    "we": ("us", "our", False),
    "they": ("them", "their", False),
}
CONNECTIVES = _words("when after before because although while until since")
INTENSIFIERS = _words("very rather quite so too extremely terribly")
# Words written literally in the templates.
FUNCTION_WORDS = _words(
    """
    the a an of and but that was were is it it's there how many what who why
    when where did will can could should would must ought to please don't
    didn't couldn't wouldn't wasn't weren't I'm we're she's he's sure think
    on in at for with about as so too once now quickly tomorrow today tonight
    this every each some all few several last year day night looked seemed
    have ago days weeks years hours talked spoke argued laughed wrote heard
    dreamed come go run hurry soon them hundred
    """
)
_PUNCTUATION = {",", ".", "?", "!"}
_SPOKEN = {"Mr.": "mister", "Mrs.": "missus", "Dr.": "doctor"}
_AN_EXCEPTIONS = {"one", "once", "useful", "useless", "uniform", "university", "unicorn"}
_AN_SILENT_H = {"hour", "honest", "honor", "heir"}
_IRREGULAR_PLURALS = {
    "sheep": "sheep",
    "deer": "deer",
    "fish": "fish",
    "mouse": "mice",
    "goose": "geese",
    "ox": "oxen",
    "child": "children",
    "person": "people",
    "knife": "knives",
    "wife": "wives",
    "leaf": "leaves",
    "loaf": "loaves",
    "shelf": "shelves",
    "wolf": "wolves",
    "calf": "calves",
    "half": "halves",
    "scarf": "scarves",
    "thief": "thieves",
    "potato": "potatoes",
    "tomato": "tomatoes",
    "hero": "heroes",
    "volcano": "volcanoes",
    "cherry": "cherries",
    "fishwife": "fishwives",
    "crossroads": "crossroads",
}


# ---------------------------------------------------------------------------
# Morphology
# ---------------------------------------------------------------------------
def plural(noun):
    """Plural of an English noun from the word lists.

    Arguments
    ---------
    noun : str
        A singular noun.

    Returns
    -------
    str
        Its plural.

    Example
    -------
    >>> [plural(w) for w in ["basket", "box", "fisherman", "city", "key", "wolf"]]
    ['baskets', 'boxes', 'fishermen', 'cities', 'keys', 'wolves']
    """
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if noun.endswith("man"):
        return noun[:-3] + "men"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def verb_forms(entry):
    """Base, past and third person singular forms of a verb list entry.

    Arguments
    ---------
    entry : str
        ``"base"`` for a regular verb or ``"base:past"``.

    Returns
    -------
    tuple of str
        ``(base, past, third_person)``.

    Example
    -------
    >>> verb_forms("carry"), verb_forms("go:went"), verb_forms("paint")
    (('carry', 'carried', 'carries'), ('go', 'went', 'goes'), ('paint', 'painted', 'paints'))
    """
    base, _, past = entry.partition(":")
    if not past:
        if base.endswith("e"):
            past = base + "d"
        elif base.endswith("y") and base[-2] not in "aeiou":
            past = base[:-1] + "ied"
        else:
            past = base + "ed"
    if base in ("have", "be", "do"):
        third = {"have": "has", "be": "is", "do": "does"}[base]
    elif base.endswith(("s", "x", "z", "ch", "sh", "o")):
        third = base + "es"
    elif base.endswith("y") and base[-2] not in "aeiou":
        third = base[:-1] + "ies"
    else:
        third = base + "s"
    return base, past, third


def indefinite_article(word):
    """``"a"`` or ``"an"`` for the word that follows.

    Arguments
    ---------
    word : str
        The next word.

    Returns
    -------
    str
        The article.

    Example
    -------
    >>> indefinite_article("apple"), indefinite_article("useful"), indefinite_article("hour")
    ('an', 'a', 'an')
    """
    lower = word.lower()
    if lower in _AN_SILENT_H:
        return "an"
    if lower[0] in "aeiou" and lower not in _AN_EXCEPTIONS:
        return "an"
    return "a"


def number_words(number):
    """Writes a number from 0 to 999 in words, hyphenated as in prose.

    Arguments
    ---------
    number : int
        The number.

    Returns
    -------
    str
        The number in words (``"twenty-five"``, ``"three hundred"``).

    Example
    -------
    >>> number_words(7), number_words(45), number_words(300), number_words(120)
    ('seven', 'forty-five', 'three hundred', 'one hundred twenty')
    """
    if not 0 <= number < 1000:
        raise ValueError(f"number_words handles 0 to 999, got {number}")
    hundreds, rest = divmod(number, 100)
    parts = [f"{ONES[hundreds]} hundred"] if hundreds else []
    if rest or not parts:
        if rest < 20:
            parts.append(ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            parts.append(TENS[tens] + (f"-{ONES[ones]}" if ones else ""))
    return " ".join(parts)


def vocabulary():
    """All words the generator can produce, in transcript (upper case) form.

    Returns
    -------
    set of str
        The vocabulary.

    Example
    -------
    >>> vocab = vocabulary()
    >>> len(vocab) >= 1200, "FISHERMAN" in vocab, "FISHERMEN" in vocab
    (True, True, True)
    """
    words = set()
    for group in _WORD_GROUPS:
        for entry in group:
            words.update(_transcript_words(entry))
    for noun in PEOPLE + RELATIVES + ANIMALS + THINGS + FOOD_COUNT + PLACES + TEXTS:
        words.update(_transcript_words(plural(noun)))
    for group in _VERB_GROUPS:
        for entry in group:
            for form in verb_forms(entry):
                words.update(_transcript_words(form))
    for noun in FIRST_NAMES + SURNAMES + PEOPLE:
        words.add(noun.upper() + ("'" if noun.endswith("s") else "'S"))
    for subject, (obj, possessive, _) in PRONOUNS.items():
        words.update(_transcript_words(f"{subject} {obj} {possessive}"))
    return words


def _transcript_words(token):
    """Transcript words of one token (``"Mr."`` -> MISTER, hyphen -> space)."""
    if token in _PUNCTUATION:
        return []
    token = _SPOKEN.get(token, token)
    return token.replace("-", " ").upper().split()


_WORD_GROUPS = (
    PEOPLE,
    RELATIVES,
    ANIMALS,
    THINGS,
    FOOD_COUNT,
    FOOD_MASS,
    LIQUID_CONTAINERS,
    SOLID_CONTAINERS,
    PLACES,
    PLACE_NAMES,
    TEXTS,
    EVENTS,
    TOPICS,
    FIRST_NAMES,
    SURNAMES,
    TITLES,
    ADJ_THING,
    ADJ_PERSON,
    ADJ_PLACE,
    ADJ_WEATHER,
    ADJ_ABSTRACT,
    ADVERBS,
    MOTION_PREPOSITIONS,
    PLACE_PREPOSITIONS,
    DAYS,
    MONTHS,
    SEASONS,
    PARTS_OF_DAY,
    MEALS,
    TIME_PHRASES,
    ONES,
    tuple(t for t in TENS if t != "_"),
    ORDINALS,
    CONNECTIVES,
    INTENSIFIERS,
    ADJ_ANIMAL,
    ADJ_FOOD,
    FUNCTION_WORDS,
)
_VERB_GROUPS = (
    VERBS_THING,
    VERBS_PERSON,
    VERBS_FOOD,
    VERBS_PLACE,
    VERBS_TEXT,
    VERBS_INTRANSITIVE,
    VERBS_ANIMAL,
    VERBS_MOTION,
    VERBS_ARRIVE,
    VERBS_SAY,
)


# ---------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sentence:
    """One sentence in its two renderings.

    Arguments
    ---------
    transcript : str
        LibriSpeech style: upper case words of A-Z and ``'``, single spaces.
    text : str
        Common Voice style: mixed case and punctuated; what a synthesiser
        reads.

    Example
    -------
    >>> s = Sentence("MISTER BROWN SAT DOWN", "Mr. Brown sat down.")
    >>> s.num_words
    4
    """

    transcript: str
    text: str

    @property
    def num_words(self):
        """Number of words of the transcript."""
        return len(self.transcript.split())


def render(tokens, punctuate=True):
    """Renders a token list as a ``Sentence``.

    Arguments
    ---------
    tokens : list of str
        Words as written (``"Mary's"``, ``"Mr."``, ``"twenty-five"``) and
        punctuation tokens ``, . ? !``.
    punctuate : bool
        When False, the Common Voice rendering drops the punctuation.

    Returns
    -------
    Sentence
        The two renderings.

    Example
    -------
    >>> s = render(["when", "Mr.", "Hill", "came", ",", "we", "ate", "twenty-two", "pies", "."])
    >>> s.transcript
    'WHEN MISTER HILL CAME WE ATE TWENTY TWO PIES'
    >>> s.text
    'When Mr. Hill came, we ate twenty-two pies.'
    """
    words = []
    for token in tokens:
        if token in _PUNCTUATION:
            if punctuate and words:
                words[-1] += token
        else:
            words.append(token)
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    transcript = " ".join(w for t in tokens for w in _transcript_words(t))
    return Sentence(transcript=transcript, text=text)


class _Grammar:
    """Phrase builders and sentence templates drawing from one generator."""

    def __init__(self, rng):
        self.rng = rng

    # -- helpers ------------------------------------------------------------
    def pick(self, items):
        """One random element of a sequence."""
        return items[int(self.rng.integers(len(items)))]

    def chance(self, probability):
        """True with the given probability."""
        return bool(self.rng.random() < probability)

    def verb(self, group):
        """(base, past, third) forms of a random verb of a group."""
        return verb_forms(self.pick(group))

    def with_article(self, words, definite=None):
        """Prefixes a noun phrase with an article (or a possessive)."""
        if definite is None:
            definite = self.chance(0.6)
        if definite:
            return ["the"] + words
        return [indefinite_article(words[0])] + words

    def adjective(self, group, probability=0.5):
        """Zero or one adjective (sometimes intensified)."""
        if not self.chance(probability):
            return []
        if self.chance(0.08):
            return ["very", self.pick(group)]
        return [self.pick(group)]

    def number(self, low=2, high=20):
        """A count in words, mostly small."""
        if self.chance(0.8):
            return number_words(int(self.rng.integers(low, high + 1)))
        if self.chance(0.2):
            return "a hundred"
        return number_words(int(self.rng.integers(2, 10)) * 10 * int(self.rng.choice([1, 10])))

    # -- noun phrases -------------------------------------------------------
    def name(self):
        """A first name, a title and surname, or both names."""
        roll = self.rng.random()
        if roll < 0.55:
            return [self.pick(FIRST_NAMES)]
        if roll < 0.85:
            return [self.pick(TITLES), self.pick(SURNAMES)]
        return [self.pick(FIRST_NAMES), self.pick(SURNAMES)]

    def person(self, definite=None):
        """A person: a name, a described role or a relative."""
        roll = self.rng.random()
        if roll < 0.3:
            return self.name()
        if roll < 0.45:
            owner = self.pick(("my", "his", "her", "our", "their", "your"))
            return [owner] + self.adjective(ADJ_PERSON, 0.3) + [self.pick(RELATIVES)]
        if roll < 0.52:
            return self.possessive(self.name()) + [self.pick(RELATIVES)]
        words = self.adjective(ADJ_PERSON, 0.55) + [self.pick(PEOPLE)]
        return self.with_article(words, definite)

    def people(self):
        """A plural group of people."""
        words = self.adjective(ADJ_PERSON, 0.5) + [plural(self.pick(PEOPLE))]
        if self.chance(0.3):
            return [self.number(2, 12)] + words
        return ["the"] + words

    def possessive(self, noun_phrase):
        """Possessive of the last word of a noun phrase (``Mary's``)."""
        *head, last = noun_phrase
        return head + [last + ("'" if last.endswith("s") else "'s")]

    def animal(self, definite=None):
        """An animal noun phrase."""
        words = self.adjective(ADJ_ANIMAL, 0.4) + [self.pick(ANIMALS)]
        return self.with_article(words, definite)

    def subject(self):
        """A sentence subject and whether it takes a singular verb."""
        roll = self.rng.random()
        if roll < 0.2:
            pronoun = self.pick(tuple(PRONOUNS))
            return [pronoun], PRONOUNS[pronoun][2]
        if roll < 0.3:
            return self.people(), False
        return self.person(), True

    def thing(self, definite=None):
        """A singular object noun phrase."""
        words = self.adjective(ADJ_THING, 0.6) + [self.pick(THINGS)]
        if self.chance(0.15):
            return [self.pick(("my", "his", "her", "our", "their"))] + words
        return self.with_article(words, definite)

    def things(self):
        """A counted plural object noun phrase (``seven heavy baskets``)."""
        words = self.adjective(ADJ_THING, 0.6) + [plural(self.pick(THINGS))]
        if self.chance(0.75):
            return [self.number()] + words
        return [self.pick(("some", "the", "all the", "a few", "several", "many"))] + words

    def object_phrase(self):
        """Singular or counted plural object."""
        return self.thing() if self.chance(0.6) else self.things()

    def food(self):
        """A food noun phrase, counted or measured."""
        roll = self.rng.random()
        if roll < 0.4:
            return [self.number(2, 12)] + self.adjective(ADJ_FOOD, 0.4) + [
                plural(self.pick(FOOD_COUNT))
            ]
        if roll < 0.7:
            if self.chance(0.5):
                container, food = self.pick(LIQUID_CONTAINERS), self.pick(FOOD_LIQUID)
            else:
                container, food = self.pick(SOLID_CONTAINERS), self.pick(FOOD_SOLID)
            return [indefinite_article(container), container, "of", food]
        if roll < 0.85:
            return ["some"] + self.adjective(ADJ_FOOD, 0.4) + [self.pick(FOOD_MASS)]
        return self.with_article(self.adjective(ADJ_FOOD, 0.5) + [self.pick(FOOD_COUNT)])

    def place(self):
        """A place: a described common noun or a proper name."""
        if self.chance(0.12):
            return [self.pick(PLACE_NAMES)]
        words = self.adjective(ADJ_PLACE, 0.45) + [self.pick(PLACES)]
        return self.with_article(words, definite=self.chance(0.85))

    def common_place(self):
        """A place introduced by ``the`` (never a proper name)."""
        return ["the"] + self.adjective(ADJ_PLACE, 0.4) + [self.pick(PLACES)]

    def location(self):
        """A prepositional phrase of place."""
        return [self.pick(PLACE_PREPOSITIONS)] + self.common_place()

    def time(self):
        """A time adverbial."""
        roll = self.rng.random()
        if roll < 0.35:
            return self.pick(TIME_PHRASES).split()
        if roll < 0.5:
            return ["on", self.pick(DAYS)] + (
                [self.pick(PARTS_OF_DAY)] if self.chance(0.4) else []
            )
        if roll < 0.6:
            return ["in", self.pick(MONTHS)]
        if roll < 0.7:
            return ["in", "the", self.pick(SEASONS)]
        if roll < 0.8:
            return [self.pick(("after", "before")), self.pick(MEALS)]
        if roll < 0.9:
            return ["in", "the", self.pick(PARTS_OF_DAY[:3])]
        return [self.number(2, 12), self.pick(("days", "weeks", "years", "hours")), "ago"]

    def maybe(self, probability, builder):
        """``builder()`` with the given probability, else nothing."""
        return builder() if self.chance(probability) else []

    # -- templates ----------------------------------------------------------
    def t_carry(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_THING)
        tail = self.maybe(0.7, self.location) + self.maybe(0.6, self.time)
        return subject + [past] + self.object_phrase() + tail + ["."]

    def t_intransitive(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_INTRANSITIVE)
        adverb = self.maybe(0.5, lambda: [self.pick(ADVERBS)])
        return subject + [past] + adverb + self.maybe(0.6, self.location) + self.maybe(
            0.4, self.time
        ) + ["."]

    def t_motion(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_MOTION)
        adverb = self.maybe(0.4, lambda: [self.pick(ADVERBS)])
        return subject + [past] + adverb + [self.pick(MOTION_PREPOSITIONS)] + self.place() + (
            self.maybe(0.5, self.time)
        ) + ["."]

    def t_person(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_PERSON)
        target = self.person() if self.chance(0.8) else self.animal()
        return subject + [past] + target + self.maybe(0.6, self.location) + self.maybe(
            0.5, self.time
        ) + ["."]

    def t_food(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_FOOD)
        return subject + [past] + self.food() + self.maybe(0.5, self.location) + self.maybe(
            0.6, self.time
        ) + ["."]

    def t_place(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_PLACE)
        adverb = self.maybe(0.3, lambda: [self.pick(ADVERBS)])
        return subject + adverb + [past] + self.place() + self.maybe(0.7, self.time) + ["."]

    def t_text(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_TEXT)
        words = self.adjective(ADJ_ABSTRACT + ADJ_THING[:20], 0.5) + [self.pick(TEXTS)]
        tail = self.maybe(0.3, lambda: ["to"] + self.person()) if past in ("sent", "read") else []
        return subject + [past] + self.with_article(words) + tail + self.maybe(0.4, self.time) + [
            "."
        ]

    def t_say(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_SAY)
        roll = self.rng.random()
        if roll < 0.35:
            clause = self.common_place() + ["was", self.pick(ADJ_PLACE)]
        elif roll < 0.65:
            clause = self.person() + ["was"] + [self.pick(ADJ_PERSON)]
        else:
            clause = ["the", self.pick(TOPICS), "was"] + [self.pick(ADJ_ABSTRACT)]
        return subject + [past, "that"] + clause + ["."]

    def t_yes_no(self):
        subject, singular = self.subject()
        if subject[0] == "I":
            subject = ["you"]
        roll = self.rng.random()
        if roll < 0.5:
            base, _, _ = self.verb(VERBS_THING)
            rest = [base] + self.thing(definite=True) + self.maybe(0.5, self.location)
        elif roll < 0.75:
            base, _, _ = self.verb(VERBS_PERSON)
            rest = [base] + self.person()
        else:
            base, _, _ = self.verb(VERBS_PLACE)
            rest = [base] + self.place()
        aux = self.pick(("did", "will", "can", "could", "should", "would"))
        return [aux] + subject + rest + self.maybe(0.3, self.time) + ["?"]

    def t_wh(self):
        subject, _ = self.subject()
        if subject[0] == "I":
            subject = ["you"]
        base, _, _ = self.verb(VERBS_THING)
        word = self.pick(("why", "when", "where", "how"))
        return [word, "did"] + subject + [base] + self.thing(definite=True) + ["?"]

    def t_how_many(self):
        subject, _ = self.subject()
        base, _, _ = self.verb(VERBS_THING)
        noun = plural(self.pick(THINGS + FOOD_COUNT + ANIMALS))
        return ["how", "many"] + self.adjective(ADJ_THING, 0.3) + [noun, "did"] + subject + [
            base
        ] + self.maybe(0.3, self.time) + ["?"]

    def t_who(self):
        _, past, _ = self.verb(VERBS_THING)
        return ["who", past] + self.thing(definite=True) + self.maybe(0.5, self.location) + ["?"]

    def t_there(self):
        noun = plural(self.pick(THINGS + ANIMALS + PEOPLE + FOOD_COUNT))
        words = [self.number()] + self.adjective(ADJ_THING, 0.5) + [noun]
        return ["there", "were"] + words + self.location() + self.maybe(0.3, self.time) + ["."]

    def t_when_clause(self):
        subject, singular = self.subject()
        _, motion, _ = self.verb(VERBS_MOTION)
        _, past, _ = self.verb(VERBS_THING)
        first = [self.pick(("when", "after", "before", "as soon as"))] + subject + [
            motion,
            self.pick(("to", "into", "across", "through")),
        ] + self.place()
        second, _ = self.subject()
        return first + [","] + second + [past] + self.object_phrase() + ["."]

    def t_event(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_THING)
        opener = [self.pick(("after", "before", "during")), "the", self.pick(EVENTS)]
        return opener + [","] + subject + [past] + self.object_phrase() + ["."]

    def t_imperative(self):
        base, _, _ = self.verb(VERBS_THING)
        roll = self.rng.random()
        start = ["please"] if roll < 0.4 else ["don't"] if roll < 0.6 else []
        body = [base] + self.thing(definite=True) + self.maybe(0.6, self.location)
        if self.chance(0.3):
            return start + body + [","] + [self.pick(FIRST_NAMES)] + ["."]
        return start + body + ["."]

    def t_vocative(self):
        name = [self.pick(FIRST_NAMES)]
        base, _, _ = self.verb(VERBS_THING)
        if self.chance(0.5):
            question = [self.pick(("where", "why", "when")), "did", "you", base]
            return name + [","] + question + self.thing(definite=True) + ["?"]
        motion = self.pick(("come", "go", "run", "hurry"))
        return name + [",", motion, "to"] + self.common_place() + [
            self.pick(("at once", "now", "quickly", "tomorrow"))
        ] + ["!" if self.chance(0.5) else "."]

    def t_habit(self):
        subject, singular = self.subject()
        base, _, third = self.verb(VERBS_THING + VERBS_FOOD)
        verb = third if singular else base
        when = [self.pick(("every", "each")), self.pick(DAYS + PARTS_OF_DAY + SEASONS)]
        owner = self.pick(("his", "her", "their", "our", "my"))
        tail = self.maybe(0.4, lambda: ["for", owner, self.pick(RELATIVES)])
        return subject + [verb] + self.object_phrase() + tail + when + ["."]

    def t_future(self):
        subject, _ = self.subject()
        base, _, _ = self.verb(VERBS_THING)
        if self.chance(0.3):
            base, _, _ = self.verb(VERBS_PLACE)
            obj = self.place()
        else:
            obj = self.object_phrase()
        opener = self.maybe(0.3, lambda: [self.pick(("I", "we")), "think"])
        return opener + subject + ["will", base] + obj + self.maybe(0.6, self.time) + ["."]

    def t_describe(self):
        roll = self.rng.random()
        if roll < 0.35:
            first = self.common_place()
            adjectives = [self.pick(ADJ_PLACE), "and", self.pick(ADJ_PLACE)]
        elif roll < 0.7:
            first = ["the"] + [self.pick(THINGS)]
            adjectives = [self.pick(ADJ_THING), "and", self.pick(ADJ_THING)]
        else:
            first = self.person(definite=True)
            adjectives = [self.pick(ADJ_PERSON), "and", self.pick(ADJ_PERSON)]
        verb = "is" if self.chance(0.3) else "was"
        intensifier = self.maybe(0.3, lambda: [self.pick(INTENSIFIERS)])
        return first + self.maybe(0.4, self.location) + [verb] + intensifier + adjectives + (
            self.maybe(0.4, self.time)
        ) + ["."]

    def t_weather(self):
        subject, _ = self.subject()
        base, past, _ = self.verb(VERBS_ARRIVE)
        preposition = ARRIVE_PREPOSITIONS[base]
        adjectives = [self.pick(ADJ_WEATHER)] + self.maybe(
            0.5, lambda: ["and", self.pick(ADJ_WEATHER)]
        )
        place = self.maybe(0.5, lambda: [preposition] + self.common_place())
        return ["it", "was"] + adjectives + ["when"] + subject + [past] + [
            w for w in place if w
        ] + ["."]

    def t_too(self):
        base, _, _ = self.verb(VERBS_PLACE)
        subject = ["it's"] if self.chance(0.5) else ["it", "was"]
        when = self.maybe(0.5, lambda: [self.pick(("today", "tonight", "now", "this morning"))])
        weather = self.pick(ADJ_WEATHER)
        return subject + ["too", weather, "to", base] + self.common_place() + when + ["."]

    def t_and(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_THING)
        _, past2, _ = self.verb(VERBS_INTRANSITIVE)
        return subject + [past] + self.object_phrase() + ["and", past2] + self.maybe(
            0.5, lambda: [self.pick(ADVERBS)]
        ) + ["."]

    def t_but(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_THING)
        base, _, _ = self.verb(VERBS_THING)
        negative = self.pick(("couldn't", "didn't", "wouldn't"))
        return subject + [past] + self.thing() + [",", "but", negative, base, "it"] + self.maybe(
            0.4, self.time
        ) + ["."]

    def t_pair(self):
        _, past, _ = self.verb(VERBS_MOTION)
        first, second = self.pick(FIRST_NAMES), self.pick(FIRST_NAMES)
        return [first, "and", second, past] + [self.pick(MOTION_PREPOSITIONS)] + self.place() + (
            self.maybe(0.6, self.time)
        ) + ["."]

    def t_negative(self):
        subject, singular = self.subject()
        if self.chance(0.5):
            base, _, _ = self.verb(VERBS_THING)
            return subject + ["didn't", base] + self.thing(definite=True) + self.maybe(
                0.4, self.time
            ) + ["."]
        verb = "wasn't" if singular or subject == ["I"] else "weren't"
        return subject + [verb, self.pick(ADJ_PERSON)] + self.maybe(
            0.5, lambda: ["at", "all"]
        ) + ["."]

    def t_relative(self):
        owner = self.name() if self.chance(0.6) else ["the", self.pick(PEOPLE)]
        _, past, _ = self.verb(VERBS_THING)
        return self.possessive(owner) + [self.pick(RELATIVES), past] + self.object_phrase() + (
            self.maybe(0.5, self.location)
        ) + ["."]

    def t_animal(self):
        _, past, _ = self.verb(VERBS_ANIMAL)
        animals = self.animal() if self.chance(0.7) else ["the", plural(self.pick(ANIMALS))]
        adverb = self.maybe(0.4, lambda: [self.pick(ADVERBS)])
        return animals + [past] + adverb + self.location() + self.maybe(0.3, self.time) + ["."]

    def t_exclaim(self):
        if self.chance(0.5):
            noun = self.pick(THINGS + PLACES + ANIMALS)
            adjective = self.pick(ADJ_THING)
            return ["what", indefinite_article(adjective), adjective, noun] + self.maybe(
                0.4, lambda: ["you", "have"]
            ) + ["!"]
        return ["how", self.pick(ADJ_PLACE)] + self.common_place() + [
            self.pick(("looked", "seemed", "was"))
        ] + self.maybe(0.4, lambda: ["that", self.pick(PARTS_OF_DAY)]) + ["!"]

    def t_simile(self):
        subject = self.person(definite=True)
        return subject + ["was", "as", self.pick(ADJ_PERSON), "as"] + self.animal(
            definite=False
        ) + ["."]

    def t_sure(self):
        opener = [self.pick(("I'm", "we're", "she's", "he's")), "sure", "that"]
        base, _, _ = self.verb(VERBS_PERSON)
        return opener + self.person() + ["will", base] + self.person() + self.maybe(
            0.5, self.time
        ) + ["."]

    def t_before(self):
        base, _, _ = self.verb(VERBS_THING)
        _, _, arrive = self.verb(VERBS_ARRIVE)
        subject = self.pick(("we", "you", "they", "I"))
        return [subject, self.pick(("should", "must", "ought to")), base] + self.thing(
            definite=True
        ) + [self.pick(("before", "until")), "the", self.pick(PEOPLE), arrive] + ["."]

    def t_ordinal(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_PLACE)
        opener = ["on", "the", self.pick(ORDINALS), self.pick(("day", "night", "morning"))]
        return opener + [","] + subject + [past] + self.place() + self.maybe(
            0.5, lambda: ["with"] + self.person()
        ) + ["."]

    def t_month(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_MOTION)
        opener = ["in", self.pick(MONTHS)] + self.maybe(0.3, lambda: ["last", "year"])
        return opener + [","] + subject + [past, "to", self.pick(PLACE_NAMES)] + self.maybe(
            0.4, lambda: ["with"] + self.person()
        ) + ["."]

    def t_talk(self):
        subject, _ = self.subject()
        verb = self.pick(("talked", "spoke", "argued", "laughed", "wrote", "heard", "dreamed"))
        topic = ["the"] + self.adjective(ADJ_ABSTRACT, 0.4) + [self.pick(TOPICS + EVENTS)]
        return subject + [verb, "about"] + topic + self.maybe(0.3, self.location) + ["."]

    def t_while(self):
        subject, _ = self.subject()
        _, past, _ = self.verb(VERBS_INTRANSITIVE)
        subject2, _ = self.subject()
        _, past2, _ = self.verb(VERBS_TEXT + VERBS_FOOD)
        obj = self.with_article([self.pick(TEXTS)]) if past2 in (
            verb_forms(v)[1] for v in VERBS_TEXT
        ) else self.food()
        return subject + [past, self.pick(CONNECTIVES)] + subject2 + [past2] + obj + ["."]


def _templates(grammar):
    """The template methods of a grammar, in a fixed order."""
    return [getattr(grammar, n) for n in sorted(dir(grammar)) if n.startswith("t_")]


def generate_sentence(rng, min_words=MIN_WORDS, max_words=MAX_WORDS):
    """Generates one random sentence.

    Arguments
    ---------
    rng : numpy.random.Generator
        The random generator (the only source of randomness).
    min_words : int
        Fewest words of the transcript.
    max_words : int
        Most words of the transcript.

    Returns
    -------
    Sentence
        The sentence.

    Example
    -------
    >>> import numpy as np
    >>> s = generate_sentence(np.random.default_rng(3))
    >>> 4 <= s.num_words <= 16, s.transcript.isupper(), s.text[0].isupper()
    (True, True, True)
    """
    grammar = _Grammar(rng)
    templates = _templates(grammar)
    for _ in range(1000):
        tokens = grammar.pick(templates)()
        sentence = render(tokens, punctuate=grammar.chance(0.93))
        if min_words <= sentence.num_words <= max_words:
            return sentence
    raise RuntimeError(f"No sentence of {min_words} to {max_words} words in 1000 tries.")


def generate_sentences(num_sentences, seed=0, min_words=MIN_WORDS, max_words=MAX_WORDS,
                       exclude=()):
    """Generates distinct random sentences, deterministically.

    Arguments
    ---------
    num_sentences : int
        How many sentences.
    seed : int or sequence of int
        Seed of ``numpy.random.default_rng`` (a sequence gives independent
        streams, e.g. ``(seed, split_index)``).
    min_words : int
        Fewest words of a transcript.
    max_words : int
        Most words of a transcript.
    exclude : collection of str
        Transcripts not to produce (e.g. those of the training set).

    Returns
    -------
    list of Sentence
        ``num_sentences`` sentences with distinct transcripts.

    Example
    -------
    >>> first = generate_sentences(3, seed=7)
    >>> first == generate_sentences(3, seed=7), len({s.transcript for s in first})
    (True, 3)
    """
    rng = np.random.default_rng(seed)
    seen = set(exclude)
    sentences = []
    tries = 0
    while len(sentences) < num_sentences:
        tries += 1
        if tries > 20 * num_sentences + 1000:
            raise RuntimeError(f"Could not generate {num_sentences} distinct sentences.")
        sentence = generate_sentence(rng, min_words, max_words)
        if sentence.transcript not in seen:
            seen.add(sentence.transcript)
            sentences.append(sentence)
    return sentences


# ---------------------------------------------------------------------------
# Sentences from books
# ---------------------------------------------------------------------------
_START_RE = re.compile(r"^\*\*\*\s*START OF", re.MULTILINE)
_END_RE = re.compile(
    r"^(?:\*\*\*\s*END OF|\s*End of (?:the |this )?Project Gutenberg)", re.MULTILINE | re.IGNORECASE
)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"'’”)\]]*\s+(?=[\"'‘“(\[]*[A-Z])")
_ABBREVIATION_END_RE = re.compile(r"\b(Mr|Mrs|Dr|St|Mt|Messrs|Col|Capt|Gen|Lt|Rev|Prof|[A-Z])\.$")
_QUOTES_RE = re.compile(r"[\"“”_*]|(?<!\w)['‘’]|['‘’](?!\w)")
_ALLOWED_RE = re.compile(r"^[A-Za-z ,.;:!?'’\-]+$")


def strip_gutenberg_boilerplate(text):
    """Keeps the text between the ``*** START OF`` and ``*** END OF`` lines.

    Arguments
    ---------
    text : str
        A Project Gutenberg book (or any text: returned unchanged without
        the markers).

    Returns
    -------
    str
        The body of the book.

    Example
    -------
    >>> book = "licence\\n*** START OF X ***\\nBody.\\n*** END OF X ***\\nmore"
    >>> strip_gutenberg_boilerplate(book)
    'Body.'
    """
    start = _START_RE.search(text)
    if start:
        newline = text.find("\n", start.end())
        text = text[newline + 1 :] if newline >= 0 else ""
    end = _END_RE.search(text)
    if end:
        text = text[: end.start()]
    return text.strip()


def split_sentences(text):
    """Splits prose into sentences (paragraph by paragraph).

    Arguments
    ---------
    text : str
        Plain text; paragraphs separated by blank lines.

    Returns
    -------
    list of str
        Sentences with whitespace collapsed.

    Example
    -------
    >>> split_sentences("It rained. Mr. Hill stayed in!\\n\\nThe end")
    ['It rained.', 'Mr. Hill stayed in!', 'The end']
    """
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        pending = ""
        for piece in _SENTENCE_END_RE.split(paragraph):
            pending = f"{pending} {piece}" if pending else piece
            if not _ABBREVIATION_END_RE.search(pending):
                sentences.append(pending)
                pending = ""
        if pending:
            sentences.append(pending)
    return [s for s in sentences if s]


def clean_book_sentence(sentence):
    """Tidies a sentence from a book for reading aloud, or returns ``""``.

    Quotes, underscores (italics) and asterisks are removed. Sentences with
    digits, brackets or other symbols, and all-capital headings are
    rejected, since a synthesiser may read them differently from the
    normalised transcript.

    Arguments
    ---------
    sentence : str
        One sentence.

    Returns
    -------
    str
        The cleaned sentence, or ``""`` when rejected.

    Example
    -------
    >>> clean_book_sentence('"Come here," said _Mary_.')
    'Come here, said Mary.'
    >>> clean_book_sentence("CHAPTER IV."), clean_book_sentence("In 1850 it was.")
    ('', '')
    """
    text = " ".join(_QUOTES_RE.sub(" ", sentence).split())
    text = re.sub(r"\s+([,.;:!?])", r"\1", text).strip(" ,;:-")
    if not text or not _ALLOWED_RE.match(text) or text.upper() == text:
        return ""
    if "--" in text or not text[0].isalpha():
        return ""
    return text[0].upper() + text[1:]


def sentences_from_text_dir(text_dir, min_words=MIN_WORDS, max_words=MAX_WORDS,
                            max_sentences=None):
    """Reads sentences from the ``*.txt`` books of a folder.

    Project Gutenberg headers and footers are skipped, the text is split into
    sentences, sentences of ``min_words`` to ``max_words`` words are kept and
    normalised with ``speechbrain_ee.dataio.text.normalize_text``.
    Duplicates are dropped; the order is file by file (sorted by name).

    Arguments
    ---------
    text_dir : str or path
        Folder with ``*.txt`` files (UTF-8).
    min_words : int
        Fewest words of a transcript.
    max_words : int
        Most words of a transcript.
    max_sentences : int or None
        Stop after this many sentences.

    Returns
    -------
    list of Sentence
        ``text`` is the cleaned book sentence, ``transcript`` its
        normalisation.

    Example
    -------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "book.txt").write_text(
    ...     "Licence.\\n*** START OF THE BOOK ***\\nIt was a bright cold day in April, "
    ...     "and the clocks were striking.\\nHe ran.\\n*** END OF THE BOOK ***\\n")
    >>> [s.transcript for s in sentences_from_text_dir(folder)]
    ['IT WAS A BRIGHT COLD DAY IN APRIL AND THE CLOCKS WERE STRIKING']
    """
    from speechbrain_ee.dataio.text import normalize_text

    files = sorted(Path(text_dir).glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"No *.txt files in {text_dir}")
    seen = set()
    sentences = []
    for path in files:
        body = strip_gutenberg_boilerplate(path.read_text(encoding="utf-8", errors="replace"))
        for raw in split_sentences(body):
            if not min_words <= len(raw.split()) <= max_words + 2:
                continue
            text = clean_book_sentence(raw)
            transcript = normalize_text(text) if text else ""
            if not min_words <= len(transcript.split()) <= max_words:
                continue
            if transcript in seen:
                continue
            seen.add(transcript)
            sentences.append(Sentence(transcript=transcript, text=text))
            if max_sentences is not None and len(sentences) >= max_sentences:
                return sentences
    logger.info("Read %d sentences from %d books in %s", len(sentences), len(files), text_dir)
    return sentences
