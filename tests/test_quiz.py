"""The lesson quizzes: every file loads and is answerable, every explanation points at a real section,
results questions read the committed results, the widget marks answers on click, and the text
fallback holds every question. Also: every link in the notebooks is well-formed or resolves."""
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

import coursekit as ck
from coursekit import quiz

REPO = Path(__file__).resolve().parents[1]
QUIZ_DIR = REPO / "notebooks" / "quizzes"
LESSONS = ["01", "02", "03", "04", "05"]
CASES = [(lesson, part) for lesson in LESSONS for part in quiz.PARTS]


def raw_questions(lesson: str, part: str) -> list[dict]:
    return json.loads((QUIZ_DIR / f"{lesson}.json").read_text(encoding="utf-8"))[part]


def headings(notebook: str) -> set[str]:
    cells = json.loads((REPO / "notebooks" / notebook).read_text())["cells"]
    return {line.lstrip("#").strip() for c in cells if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("#")}


def test_every_lesson_has_a_quiz_file_and_the_loader_finds_it_in_the_clone():
    assert sorted(p.stem for p in QUIZ_DIR.glob("*.json")) == LESSONS
    assert quiz.quiz_file(1) == QUIZ_DIR / "01.json"


@pytest.mark.parametrize("lesson, part", CASES)
def test_five_questions_each_answerable_in_exactly_one_way(lesson, part):
    loaded = quiz.Quiz(lesson, part)
    assert len(loaded.questions) == 5
    for raw, q in zip(raw_questions(lesson, part), loaded.questions):
        if q.choices:
            assert sum(c.correct for c in q.choices) == 1, f"{lesson} {part}: {q.text!r} needs exactly one correct choice"
            assert len({c.text for c in q.choices}) == len(q.choices), f"{q.text!r}: two choices read the same"
            assert "results" in raw or all(c.why for c in q.choices), f"{q.text!r}: every choice needs its explanation"
        else:
            assert "tolerance" in raw and q.tolerance >= 0, f"{q.text!r}: a numeric answer needs an explicit tolerance"


@pytest.mark.parametrize("lesson, part", CASES)
def test_every_explanation_points_to_a_section_of_its_notebook(lesson, part):
    loaded = quiz.Quiz(lesson, part)
    sections = headings(loaded.notebook)
    for q in loaded.questions:
        assert q.section in sections, f"{lesson} {part}: {q.text!r} cites the section {q.section!r}, not a heading of {loaded.notebook}"


def test_results_questions_name_committed_files_and_read_their_answers_from_them():
    count = 0
    for lesson, part in CASES:
        for raw, q in zip(raw_questions(lesson, part), quiz.Quiz(lesson, part).questions):
            if "results" not in raw:
                continue
            count += 1
            assert (REPO / "notebooks" / "results" / raw["results"]["file"]).is_file()
            assert raw["results"]["file"] in q.why  # the explanation says where the answer comes from
    assert count >= 10


def test_a_re_run_that_changes_the_results_changes_the_answer(monkeypatch):
    committed = ck.runtime.load_results("lesson2_experiments.json")
    rerun = json.loads(json.dumps(committed))
    for row in rerun["rows"]:
        row["fd"] = 1.0 if row["name"] == "batch 32" else 500.0
    monkeypatch.setattr(ck.runtime, "load_results", lambda name: rerun)
    q = quiz.Quiz("02", "post").questions[0]  # which configuration reached the lowest FD?
    assert [c.text for c in q.choices if c.correct] == ["batch 32"]


def test_measured_results_that_tie_mark_each_tied_choice_right_and_say_so(monkeypatch):
    committed = ck.runtime.load_results("lesson2_experiments.json")
    rerun = json.loads(json.dumps(committed))
    for row in rerun["rows"]:
        row["fd"] = 1.0 if row["name"] in ("batch 32", "extra G layer") else 500.0
    monkeypatch.setattr(ck.runtime, "load_results", lambda name: rerun)
    q = quiz.Quiz("02", "post").questions[0]
    assert [c.text for c in q.choices if c.correct] == ["batch 32", "extra G layer"]
    assert "The lowest is shared by batch 32 and extra G layer." in q.why


def test_a_numeric_results_answer_is_the_ratio_of_two_committed_numbers_with_a_relative_tolerance():
    q = quiz.Quiz("04", "post").questions[3]  # training digits per second, VAE over PixelCNN
    models = ck.runtime.load_results("lesson4_likelihood_models.json")["models"]
    ratio = models["VAE"]["train_img_s"] / models["PixelCNN"]["train_img_s"]
    assert q.answer == pytest.approx(ratio) and q.tolerance == pytest.approx(0.1 * ratio)


@pytest.mark.parametrize("lesson, part", CASES)
def test_clicking_check_marks_right_and_wrong_answers_with_the_explanation(lesson, part):
    loaded = quiz.Quiz(lesson, part)
    loaded.widget()
    for form in loaded.forms:
        q = form.question
        if q.choices:
            right = next(i for i, c in enumerate(q.choices) if c.correct)
            wrong = next(i for i, c in enumerate(q.choices) if not c.correct)
            answers = [(right, "Right"), (wrong, "Not quite")]
        else:
            answers = [(f"{q.answer:.6g}", "Right"), (str(q.answer + 10 * q.tolerance + 1), "Not quite"), ("abc", "Type a number")]
        for answer, verdict in answers:
            if q.choices:
                form.entry.index = answer
            else:
                form.entry.value = answer
            form.button.click()
            assert verdict in form.feedback.value, (q.text, answer, form.feedback.value)
            assert q.section in form.feedback.value.replace("&#x27;", "'").replace("&amp;", "&")
        if q.choices:  # the wrong choice's own explanation is shown
            assert quiz.html.escape(q.choices[wrong].why.split(".")[0]) in form.feedback.value


def test_check_without_a_choice_asks_for_one():
    loaded = quiz.Quiz("01", "pre")
    loaded.widget()
    loaded.forms[0].button.click()
    assert "Pick one" in loaded.forms[0].feedback.value


@pytest.mark.parametrize("lesson, part", CASES)
def test_the_text_and_markdown_fallbacks_hold_every_question_then_the_folded_answers(lesson, part):
    loaded = quiz.Quiz(lesson, part)
    text, markdown = loaded.text(), loaded.markdown()
    answers_at = text.index("Answers (try first!)")
    for q in loaded.questions:
        assert q.text in text[:answers_at] and q.text in markdown
        assert all(c.text in text[:answers_at] for c in q.choices)
    assert markdown.index("<details>") > max(markdown.index(q.text) for q in loaded.questions)
    assert markdown.rstrip().endswith("</details>")


def test_one_display_bundle_carries_the_widget_and_both_fallbacks():
    loaded = quiz.Quiz("03", "post")
    bundle = loaded._repr_mimebundle_()
    assert bundle["text/plain"] == loaded.text() and bundle["text/markdown"] == loaded.markdown()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(ValueError, match="'pre'.*'post'"):
        quiz.Quiz("01", "during")
    with pytest.raises(ck.DataError, match="no quiz for lesson 9.*01.json"):
        quiz.Quiz(9)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_opens_with_its_quiz_and_closes_with_a_quiz_a_challenge_and_reading(lesson):
    notebook = next((REPO / "notebooks").glob(f"{lesson}_*.ipynb"))
    sources = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]]
    pre = sources.index(f'import coursekit as ck\nck.quiz.show("{lesson}", "pre")')
    post = sources.index(f'ck.quiz.show("{lesson}", "post")')
    first_section = next(i for i, s in enumerate(sources) if s.startswith("## 1."))
    assert pre < first_section < post
    closing = "\n".join(sources[post:])
    assert "## Challenge" in closing and "## Review & self-study" in closing


# ---- links in the notebooks -------------------------------------------------------------------

URL = re.compile(r"https?://[^\s)\]>\"'`]+")
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def notebook_cells():
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            yield nb, cell, "".join(cell["source"])


def test_every_url_in_the_notebooks_is_well_formed():
    for nb, _, source in notebook_cells():
        for url in URL.findall(source):
            parts = urlparse(url)
            host_ok = re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", parts.netloc or "")
            assert host_ok and not url.endswith((".", ",", ";", ":")), f"{nb.name}: malformed URL {url!r}"


def test_every_local_link_in_the_notebooks_resolves():
    for nb, cell, source in notebook_cells():
        if cell["cell_type"] != "markdown":
            continue
        for target in MARKDOWN_LINK.findall(source):
            if re.match(r"(https?|mailto):", target) or target.startswith("#"):
                continue
            if target.startswith("attachment:"):
                assert target.split(":", 1)[1] in cell.get("attachments", {}), f"{nb.name}: missing attachment {target}"
            else:
                assert (nb.parent / target.split("#")[0]).exists(), f"{nb.name}: the link {target!r} leads nowhere"
