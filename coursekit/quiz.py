"""Quizzes before and after each lesson: multiple choice and numbers, checked on click.

    ck.quiz.show("01", "pre")     # lesson 1's five questions before the lesson; "post" for after it

The questions are data, one JSON file per lesson (notebooks/quizzes/01.json ...). A question about
a *measured result* names the committed results file (see `runtime.load_results`) and the keys to
read; its answer is computed from that file when the quiz is shown, so it stays true when the
results are re-run. Every explanation names the section of the lesson that answers it.

A question file: {"notebook": "01_....ipynb", "pre": [five questions], "post": [five questions]};
a question has "question", "section" (a heading of that notebook), an optional "why" shown after
any answer, and either
    "choices": [{"text": ..., "correct": true, "why": ...}, {"text": ..., "why": ...}, ...]
    "answer": 14, "tolerance": 0                      (a number; "tolerance": "10%" is relative)
or, for a measured result, "results": {"file": "lesson2_experiments.json", "rows": ["rows"],
"value": ["fd"], "best": "min"} with choices naming their "row" (the best row is the right one),
or "results": {"file": ..., "value": [keys], "over": [keys]} for a number (value / over).

Where widgets run (JupyterLab, Colab; ipywidgets 7.7 and 8) the quiz is a form with a "Check"
button per question. Where they cannot run (GitHub's static view, nbval, a terminal, an export to
Markdown) the same output shows as Markdown or plain text: the questions, then the answers folded
at the end. (nbviewer's HTML shows the form only if the notebook was saved with its widget state.)
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as W

from . import runtime
from .checks import DataError, check_choice, check_count, check_number

# The clone's notebooks/quizzes/, else the installed package's copy (as for runtime.RESULTS_DIRS).
QUIZ_DIRS = (runtime.CHECKOUT_DIR / "notebooks" / "quizzes", runtime.PACKAGE_DIR / "quizzes")
PARTS = ("pre", "post")


@dataclass
class Choice:
    text: str
    correct: bool = False
    why: str = ""  # shown when this choice is picked


@dataclass
class Question:
    """One question: `choices` (exactly one correct) or a numeric `answer` within `tolerance`."""
    text: str
    section: str  # the heading of the lesson section that answers it, e.g. "5. The losses"
    choices: list[Choice] = field(default_factory=list)
    answer: float | None = None
    tolerance: float = 0.0
    why: str = ""  # shown after any answer

    def __post_init__(self) -> None:
        if self.choices:  # one correct choice; measured results that tie mark each tied choice right
            if not any(c.correct for c in self.choices):
                raise ValueError(f"choices of {self.text!r} must include a correct one, got none")
            if self.answer is not None:
                raise ValueError(f"{self.text!r} has choices and an answer: give one of them")
        elif self.answer is None:
            raise ValueError(f"{self.text!r} needs choices or a numeric answer")
        self.answer = check_number(self.answer, "answer", optional=True)
        self.tolerance = check_number(self.tolerance, "tolerance", low=0)

    def check(self, response: int | str | None) -> tuple[bool, str]:
        """(right?, explanation) for a choice index (0, 1, ...; None: nothing picked yet) or a typed number."""
        if self.choices:
            if response is None:
                return False, "Pick one of the answers first."
            response = check_count(response, "response", minimum=0)
            if response >= len(self.choices):
                raise ValueError(f"response must be a choice index in 0..{len(self.choices) - 1}, got {response}")
            choice = self.choices[response]
            return choice.correct, " ".join(s for s in (choice.why, self.why) if s)
        try:
            value = float(str(response).strip().replace(" ", "").replace("_", ""))
        except ValueError:
            return False, f"Type a number, e.g. 0.5 or 120: {str(response)!r} is not one."
        right = abs(value - self.answer) <= self.tolerance
        return right, f"The answer is {_number(self.answer)}{self._within()}. {self.why}".strip()

    def solution(self) -> str:
        """The answer and why, as one line of text."""
        if self.choices:
            letter, choice = next((_letter(i), c) for i, c in enumerate(self.choices) if c.correct)
            body = f"{letter}) {choice.text}. " + " ".join(s for s in (choice.why, self.why) if s)
        else:
            body = f"Answer: {_number(self.answer)}{self._within()}. {self.why}"
        return f"{body.strip()} (Section: {self.section}.)"

    def _within(self) -> str:
        return f" (± {self.tolerance:.2g} counts as right)" if self.tolerance else ""


def _letter(i: int) -> str:
    return "abcdefghij"[i]


def _number(x: float) -> str:
    return f"{x:,.4g}"


def _find(data, path: list, where: str, name_key: str = "name"):
    """data[path[0]][path[1]]...; in a list, the key picks the element whose `name_key` equals it."""
    for key in path:
        try:
            data = next(row for row in data if row[name_key] == key) if isinstance(data, list) else data[key]
        except (KeyError, StopIteration, TypeError):
            raise DataError(f"{where}: no entry {key!r} on the path {path}. Fix the quiz file or re-run the "
                            "benchmark that writes the results file.") from None
    return data


def _from_results(raw: dict, where: str) -> dict:
    """Fill in a results-based question's answer (numeric) or correct choice, and say where it came from."""
    spec = raw["results"]
    results = runtime.load_results(spec["file"])
    where = f"{where} ({spec['file']})"
    if "choices" not in raw:  # numeric: value, or value / over
        answer = _value(results, spec["value"], where)
        if "over" in spec:
            answer /= _value(results, spec["over"], where)
        why = f"{raw.get('why', '')} (Read from the committed {spec['file']}.)".strip()
        return {**raw, "answer": answer, "why": why}
    rows, name_key = _find(results, spec.get("rows", []), where), spec.get("name_key", "name")
    values = [_value(_find(rows, [c["row"]], where, name_key), spec["value"], where) for c in raw["choices"]]
    texts = [c.get("text", str(c["row"])) for c in raw["choices"]]
    best = (min if spec["best"] == "min" else max)(values)
    label = spec.get("label", spec["value"][-1])
    note = (f"The committed {spec['file']} gives {label}: " + "; ".join(f"{t}: {_number(v)}" for t, v in zip(texts, values))
            + f". The {'lowest' if spec['best'] == 'min' else 'highest'} {_best_of(texts, values, best)}.")
    choices = [{**c, "text": t, "correct": v == best} for c, t, v in zip(raw["choices"], texts, values)]
    return {**raw, "choices": choices, "why": f"{note} {raw.get('why', '')}".strip()}


def _best_of(texts: list[str], values: list[float], best: float) -> str:
    """'is A', or 'is shared by A and B' when measured values tie (each tied choice counts as right)."""
    tied = [t for t, v in zip(texts, values) if v == best]
    return f"is {tied[0]}" if len(tied) == 1 else f"is shared by {', '.join(tied[:-1])} and {tied[-1]}"


def _value(data, path: list, where: str) -> float:
    value = _find(data, path, where)
    if not isinstance(value, (int, float)):
        raise DataError(f"{where}: {path} holds {value!r}, not a number. Fix the quiz file or re-run the benchmark.")
    return float(value)


def _question(raw: dict, where: str) -> Question:
    if "results" in raw:
        raw = _from_results(raw, where)
    if "choices" in raw:
        return Question(raw["question"], raw["section"], [Choice(c["text"], c.get("correct", False), c.get("why", ""))
                                                          for c in raw["choices"]], why=raw.get("why", ""))
    answer, tolerance = float(raw["answer"]), raw.get("tolerance", 0)
    if isinstance(tolerance, str) and tolerance.endswith("%"):  # relative, e.g. "10%"
        tolerance = abs(answer) * float(tolerance[:-1]) / 100
    return Question(raw["question"], raw["section"], answer=answer, tolerance=float(tolerance), why=raw.get("why", ""))


def _lesson_number(lesson: str | int) -> int:
    """A lesson given as 5 or "05" -> 5; an error naming `lesson` for anything else."""
    if isinstance(lesson, str):
        if not lesson.strip().isdigit():
            raise ValueError(f"lesson must be a lesson number such as 5 or '05', got {lesson!r}")
        return int(lesson)
    return check_count(lesson, "lesson", minimum=0)


def quiz_file(lesson: str | int) -> Path:
    """The question file of a lesson, e.g. quiz_file("01") -> .../quizzes/01.json."""
    name = f"{_lesson_number(lesson):02d}.json"
    for folder in QUIZ_DIRS:
        if (folder / name).is_file():
            return folder / name
    known = sorted({p.name for folder in QUIZ_DIRS if folder.is_dir() for p in folder.glob("*.json")})
    raise DataError(f"no quiz for lesson {lesson!r}: the course ships {', '.join(known) or 'none'}.")


class Quiz:
    """The questions of one part ("pre" or "post") of one lesson; displays as a form or as text."""

    def __init__(self, lesson: str | int, part: str = "pre"):
        check_choice(part, "part", PARTS)  # "pre": before the lesson, "post": after it
        path = quiz_file(lesson)
        data = json.loads(path.read_text(encoding="utf-8"))
        self.lesson, self.part, self.notebook = f"{_lesson_number(lesson):02d}", part, data["notebook"]
        self.questions = [_question(q, f"{path.name} {part} question {i + 1}") for i, q in enumerate(data[part])]
        self.forms: list[Form] = []

    @property
    def title(self) -> str:
        return f"Lesson {int(self.lesson)}: {'before' if self.part == 'pre' else 'after'} the lesson"

    def text(self) -> str:
        """Plain text: the questions, then the answers."""
        lines = [f"Quiz. {self.title}", ""]
        for i, q in enumerate(self.questions, 1):
            lines.append(f"{i}. {q.text}")
            lines += [f"   {_letter(j)}) {c.text}" for j, c in enumerate(q.choices)] or ["   (answer with a number)"]
        lines += ["", "Answers (try first!)"] + [f"{i}. {q.solution()}" for i, q in enumerate(self.questions, 1)]
        return "\n".join(lines)

    def markdown(self) -> str:
        """Markdown: the questions, then the answers folded in a <details> block."""
        lines = [f"**Quiz. {self.title}**", ""]
        for i, q in enumerate(self.questions, 1):
            lines.append(f"{i}. {q.text}")
            lines += [f"    - {_letter(j)}) {c.text}" for j, c in enumerate(q.choices)] or ["    - *(answer with a number)*"]
        lines += ["", "<details><summary>Answers (try first!)</summary>", ""]
        lines += [f"{i}. {q.solution()}" for i, q in enumerate(self.questions, 1)] + ["", "</details>"]
        return "\n".join(lines)

    def widget(self) -> W.VBox:
        """The form: per question its text, the choices (or a number field), "Check" and the feedback."""
        self.forms = [Form(q, i) for i, q in enumerate(self.questions, 1)]
        return W.VBox([W.HTML(f"<b>Quiz.</b> {html.escape(self.title)}")] + [f.box for f in self.forms])

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        # One output, three forms: a live frontend draws the widget, static viewers the Markdown or text.
        box = self.widget()
        return {"text/plain": self.text(), "text/markdown": self.markdown(),
                "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": box.model_id}}


class Form:
    """The widgets of one question: `entry` (RadioButtons or Text), `button`, `feedback` (HTML)."""

    def __init__(self, question: Question, number: int):
        if not isinstance(question, Question):
            raise TypeError(f"question must be a quiz.Question, got {type(question).__name__}")
        number = check_count(number, "number")  # its place in the quiz, from 1
        self.question = question
        label = W.HTML(f"<b>{number}.</b> {html.escape(question.text)}")
        if question.choices:
            options = [(f"{_letter(i)}) {c.text}", i) for i, c in enumerate(question.choices)]
            self.entry = W.RadioButtons(options=options, index=None, layout=W.Layout(width="auto"))
        else:
            self.entry = W.Text(placeholder="a number", layout=W.Layout(width="12em"))
        self.button = W.Button(description="Check")
        self.feedback = W.HTML()
        self.button.on_click(self.check)
        self.box = W.VBox([label, self.entry, self.button, self.feedback], layout=W.Layout(margin="0 0 1em 0"))

    def check(self, _button=None) -> None:
        """Mark the current answer and explain it (the button's click handler)."""
        response = self.entry.index if self.question.choices else self.entry.value
        right, why = self.question.check(response)
        mark = ('<span style="color:#1a7f37">✔ Right.</span>' if right else
                '<span style="color:#cf222e">✘ Not quite.</span>')
        self.feedback.value = (f'<div style="line-height:1.4">{mark} {html.escape(why)} '
                               f"<i>See section «{html.escape(self.question.section)}».</i></div>")


def show(lesson: str | int, part: str = "pre") -> None:
    """Display lesson `lesson`'s quiz ("pre": before the lesson, "post": after it)."""
    from IPython.display import display
    quiz = Quiz(lesson, part)
    if runtime.in_colab():
        display(quiz.widget())  # Colab's own widget path; its outputs are not read by static viewers
    else:
        display(quiz)
