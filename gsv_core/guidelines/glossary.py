"""The rule glossary: what each rule id means, in plain language, for the "Rules" section.

A reason such as "B-3: ..." only helps a non-expert if "B-3" can be looked up.
Each entry's title and summary are i18n keys (English text, marked for the
scanner) written for someone who has never trained a voice model; the numbers
themselves stay in ``tables`` and appear in the live reasons, so the glossary
never disagrees with the limits when a number changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gsv_core.i18n import mark

__all__ = ["RuleEntry", "rule_glossary"]


@dataclass(frozen=True)
class RuleEntry:
    """One rule of the rule book: its id, a short title and a plain-language summary."""

    rule: str
    title: str
    summary: str


_ENTRIES = (
    RuleEntry("B-1", mark("SoVITS batch size by graphics memory"), mark(
        "The batch size is how many audio clips the voice model (SoVITS) learns from at once. "
        "A table in the rule book gives the largest batch that fits in each amount of graphics "
        "card memory; more memory allows a larger batch.")),
    RuleEntry("B-2", mark("GPT batch size by graphics memory"), mark(
        "The same kind of table for the text-to-speech-rhythm model (GPT). It has two lines: "
        "one for normal training and a much smaller one for DPO training, which needs far more "
        "memory.")),
    RuleEntry("B-3", mark("Cards between the table's columns"), mark(
        "The batch-size tables list common memory sizes. A card in between uses the nearest "
        "size at or below its own, with its memory rounded the way it is printed on the box. "
        "Very large cards get proportionally larger limits; very small ones cannot train.")),
    RuleEntry("B-4", mark("Long clips need smaller batches"), mark(
        "The batch-size tables assume clips of a reference length (the reason shows it). When "
        "most clips are longer, each one takes more memory, so the largest batch is lowered in "
        "proportion. Shorter clips never raise it.")),
    RuleEntry("B-5", mark("Rule of thumb for the batch size"), mark(
        "Keep the SoVITS batch below half of the card's memory in gigabytes. A bigger batch is "
        "not automatically faster.")),
    RuleEntry("B-6", mark("Out of memory"), mark(
        "If the graphics card runs out of memory, lower the batch size or remove overlong audio "
        "and rebuild the dataset. The app suggests the exact batch size to try next.")),
    RuleEntry("B-7", mark("Memory overflow slows training"), mark(
        "When the card is fully busy and its memory is full, the driver may borrow ordinary "
        "memory, which makes training much slower. The app warns about this while training.")),
    RuleEntry("B-8", mark("The batch size shown is the one that runs"), mark(
        "The app never hides what really runs. For example, a batch cannot hold more clips than "
        "the dataset has, so the limit is lowered to the number of clips and the reason says "
        "so.")),
    RuleEntry("D-1", mark("What DPO does and costs"), mark(
        "DPO is an optional way of training the GPT model. It makes the voice swallow or repeat "
        "far fewer words and read longer texts, but it needs much more graphics memory and "
        "takes several times longer.")),
    RuleEntry("D-2", mark("When DPO is possible"), mark(
        "DPO needs a graphics card with enough memory, a clean, high-quality dataset and the "
        "patience for long training. With DPO on, the smaller DPO line of the GPT batch-size "
        "table applies.")),
    RuleEntry("D-3", mark("DPO needs clean, proofread data"), mark(
        "Noise, echo, poor recordings or uncorrected transcripts make DPO worse, not better. "
        "If the quality checks failed or not every transcript was proofread, DPO can still be "
        "turned on, but only after you confirm that you accept the risk.")),
    RuleEntry("E-1", mark("Emotion classification"), mark(
        "For long datasets, sorting the clips by emotion before training gives a more stable, "
        "more expressive voice. The emotion tags must then be checked by a person. It is "
        "recommended for long datasets and available for any.")),
    RuleEntry("H-1", mark("Which graphics cards can train"), mark(
        "Training needs an NVIDIA graphics card with enough memory. Old and small models "
        "cannot train; the app says which card it uses, and why another card cannot.")),
    RuleEntry("H-2", mark("Training without a usable graphics card"), mark(
        "Without a usable NVIDIA card, training runs on the computer's processor (CPU), which "
        "is extremely slow. On Apple computers a very short dataset still trains in reasonable "
        "time. AMD graphics cards are not supported for training.")),
    RuleEntry("H-3", mark("Training order"), mark(
        "The voice model (SoVITS) trains first, then the GPT model. Both can train at the same "
        "time only on a computer with two usable graphics cards, one each.")),
    RuleEntry("H-4", mark("Heat and safety"), mark(
        "Training works the computer harder than a game, for hours. Make sure it can cool "
        "itself (raise a laptop so air reaches the vents underneath) and do not leave it "
        "running unattended.")),
    RuleEntry("Q-1", mark("What makes a good dataset"), mark(
        "Recordings should be clean: no noise or echo, even loudness, complete sentences, and "
        "every transcript checked by a person. The app measures what it can and lists the "
        "clips that fail a check.")),
    RuleEntry("Q-2", mark("Poor results? Check the data first"), mark(
        "A good dataset is the foundation. If the voice keeps coming out poorly, look at the "
        "recordings and transcripts before changing settings.")),
    RuleEntry("Q-3", mark("How much audio is enough"), mark(
        "Quality improves a lot as the dataset grows to a moderate length (the reason says how "
        "long). More is only worth it with a powerful graphics card; long datasets also call "
        "for emotion classification.")),
    RuleEntry("Q-4", mark("Clip length"), mark(
        "Clips of a moderate length work best (the reason gives the reference). Overlong clips "
        "use too much memory and are flagged so they can be cut again; clips far too long to "
        "train on are refused with a message instead of being skipped silently.")),
    RuleEntry("Q-5", mark("Supported languages"), mark(
        "Transcripts may be Chinese, English, Japanese, Korean or Cantonese. Lines in any other "
        "language are reported when the dataset is prepared, never skipped silently.")),
    RuleEntry("R-1", mark("GPT training rounds"), mark(
        "A round is one pass over every clip. The GPT model needs only a few rounds; the app "
        "limits it to a modest maximum.")),
    RuleEntry("R-2", mark("SoVITS training rounds"), mark(
        "The default number of rounds for the voice model is already very good. More rounds on "
        "noisy or unclear recordings teach the model those flaws too.")),
    RuleEntry("R-3", mark("When more SoVITS rounds are allowed"), mark(
        "Many more rounds are unlocked only for a long dataset that passed the quality checks "
        "and whose transcripts were all proofread. Otherwise the number of rounds stays in the "
        "default range.")),
    RuleEntry("R-4", mark("Text learning-rate weight"), mark(
        "How fast the text part of the model learns. It may be lowered for gentler training, "
        "never raised above its default.")),
    RuleEntry("R-5", mark("Judge by listening"), mark(
        "Training does not improve evenly, and loss curves mean little early on. The app saves "
        "models along the way so you can listen to them side by side and pick the best.")),
    RuleEntry("T-1", mark("Rounds and steps"), mark(
        "A round (epoch) is one pass over all clips; a step is one update of the model. They "
        "are different numbers and are always labelled as such.")),
    RuleEntry("T-2", mark("Resuming training"), mark(
        "Interrupted training continues from the last saved point when started again with the "
        "same experiment name.")),
    RuleEntry("T-3", mark("When training is finished"), mark(
        "The app shows when training has completed, counting rounds the way people do (round N "
        "of N).")),
    RuleEntry("T-4", mark("A silent start"), mark(
        "Training may stay silent for a while as it starts. The app shows a heartbeat; if it "
        "stays silent for long, enlarge the system's virtual memory or lower the batch size "
        "and start again.")),
    RuleEntry("T-5", mark("Is it really training?"), mark(
        "If the graphics card shows no activity during training, it is not training. The app "
        "shows the card's activity and memory live.")),
    RuleEntry("T-6", mark("Training a second voice"), mark(
        "Use a new experiment name (or clear the previous clips and transcripts) so the models "
        "of two voices do not mix.")),
    RuleEntry("X-1", mark("Any characters in names"), mark(
        "Experiment names and folders may contain Chinese or any other characters, and "
        "spaces.")),
    RuleEntry("X-2", mark("Blank lines in text"), mark(
        "Several empty lines in a row in the text to speak cause no error.")),
    RuleEntry("X-3", mark("Decimal numbers"), mark(
        "Splitting text into sentences never cuts a decimal number at its decimal point.")),
    RuleEntry("X-4", mark("Punctuation-only text"), mark(
        "Text that is only punctuation, or has several punctuation marks in a row, is handled "
        "without error.")),
    RuleEntry("X-5", mark("One bad file does not stop the rest"), mark(
        "If noise removal or transcription fails on one file, the others are still processed "
        "and the finished ones are kept.")),
    RuleEntry("X-6", mark("Whole numbers"), mark(
        "Batch sizes and rounds are always whole numbers; a fraction is rounded and the app "
        "says so.")),
)


def rule_id_key(rule: str) -> tuple[str, int]:
    """Sort key of a rule id: 'B-8' before 'B-10', families in letter order."""
    family, _, number = rule.partition("-")
    return family, int(number)


def rule_glossary() -> tuple[RuleEntry, ...]:
    """Every rule of the rule book (B-1 … X-6) in rule-id order, for the "Rules" section."""
    return tuple(sorted(_ENTRIES, key=lambda entry: rule_id_key(entry.rule)))
