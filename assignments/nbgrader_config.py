"""nbgrader settings for the course's assignments, read by every `nbgrader` command run in this folder.

The course folder is the folder of this file (nbgrader's standard layout):

    source/<assignment>/<assignment>.ipynb      instructor versions: solutions and hidden tests
    release/<assignment>/                       student versions (generated)
    downloaded/<assignment>/archive/            hand-ins as downloaded (a zip or one folder per student)
    submitted/<student>/<assignment>/           collected hand-ins
    autograded/, feedback/, gradebook.db        grading results (generated)
"""
import os
import sys

import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import (ClearHiddenTests, DeduplicateIds, Execute, GetGrades, LimitOutput,
                                    NbGraderPreprocessor)

c = get_config()  # noqa: F821  (provided by traitlets when it reads this file)

COURSE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, COURSE)          # sandbox.py and handins.py beside this file
from handins import instructor_order, repair_duplicates  # noqa: E402
from sandbox import SandboxedKernelManager  # noqa: E402

c.CourseDirectory.root = COURSE
c.CourseDirectory.course_id = "generative-image-course"

# Grading kernels run every notebook in the quick budget on the real data (COURSEKIT_DATA as set
# by the instructor), with figures drawn off screen. Kernels inherit this process's environment.
os.environ.setdefault("COURSEKIT_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# One CPU thread per grading kernel: torch's results (and so a score near a threshold) do not depend
# on the grading machine's core count, and a busy machine is not oversubscribed (on 2 shared cores
# two threads made the reference solution's training steps 5x slower than one).
os.environ.setdefault("OMP_NUM_THREADS", "1")

# A cell that runs longer than this is interrupted and its error recorded: a submission that never
# finishes is scored (its later cells still run) and grading goes on. In the quick budget no cell
# of the reference solutions took more than 20 s, on 2 cores shared with other jobs (load 13).
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# nbgrader makes a late IOPub message fatal for the whole notebook (the hand-in is not graded and
# scores 0); nbclient waits 4 s for it by default, which a busy grading machine can exceed (seen
# at load 10 on 2 cores: an honest hand-in's imports cell). Wait longer.
c.Execute.iopub_timeout = 60

# Test cells are taken from the gradebook, not from the hand-in: edited ones are overwritten, and
# deleted ones are put back (nbgrader's default leaves a deleted test cell out and scores nothing).
c.OverwriteCells.add_missing_cells = True


# A hand-in that prints megabytes keeps its first lines in the graded notebook and the feedback.
# nbgrader's LimitOutput counts lines only; one huge line (print(a_long_list)) is cut here too.
class LimitOutputChars(LimitOutput):
    """LimitOutput, then at most `max_chars` characters of text output per cell."""
    max_chars = 20_000

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        left = self.max_chars
        for out in cell.get("outputs", []):
            text = out.get("text") if out.output_type == "stream" else out.get("data", {}).get("text/plain")
            if isinstance(text, str) and len(text) > left:
                text = text[:left] + "\n... Output truncated ..."
                if out.output_type == "stream":
                    out.text = text
                else:
                    out.data["text/plain"] = text
            left = max(0, left - len(text or ""))
        return cell, resources


c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60


# Student code is not trusted: each hand-in's kernel runs in a bubblewrap sandbox of its own
# (sandbox.py): it sees a scratch copy of its own hand-in, the read-only Python environment and
# data, no course folder, no network; memory, process, CPU and wall-time limits; everything it
# started dies with it. nbgrader stays outside and alone writes scores. `grade.py autograde
# --unsandboxed` (environment GRADING_UNSANDBOXED=1) runs kernels as plain processes instead.
class SandboxedExecute(Execute):
    """nbgrader's Execute with every kernel started by SandboxedKernelManager."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        info = (self.resources or {}).get("nbgrader", {})
        if info:   # the notebook the student handed in (the one being run holds the restored hidden tests)
            km.hand_in_files = [os.path.join(COURSE, "submitted", info["student"], info["assignment"],
                                             info["notebook"] + ".ipynb")]
        return km


c.SandboxedKernelManager.course = COURSE
SANDBOXED = os.environ.get("GRADING_UNSANDBOXED") != "1"


# A cell copied and pasted in Jupyter keeps its nbgrader metadata, so its grade_id appears twice and
# nbgrader's DeduplicateIds (which keeps the last copy, and leaves the others with an empty
# `nbgrader` entry) makes the notebook ungradable. Here the copy that sits where the instructor's
# notebook has the cell is kept, and the others become ordinary cells (their code still runs).
class RepairDuplicateIds(NbGraderPreprocessor):
    """Pasted cells (duplicate grade_ids) become ordinary cells; the original one is kept."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        source = os.path.join(COURSE, "source", info.get("assignment", ""), info.get("notebook", "") + ".ipynb")
        order = instructor_order(nbformat.read(source, as_version=4)) if os.path.exists(source) else []
        for line in repair_duplicates(nb, order):
            self.log.warning("%s: pasted cell repaired: %s", info.get("student"), line)
        return nb, resources


c.Autograde.sanitize_preprocessors = [RepairDuplicateIds if p is DeduplicateIds else p
                                      for p in Autograde.class_traits()["sanitize_preprocessors"].default()]
c.Autograde.autograde_preprocessors = [LimitOutputChars if p is LimitOutput else
                                       SandboxedExecute if p is Execute and SANDBOXED else p
                                       for p in Autograde.class_traits()["autograde_preprocessors"].default()]



# Feedback shows each test cell's score and error message, but not the hidden tests' code, so the
# tests can be used again next year: their source is cleared, and a failing test cell shows its
# error's last line (e.g. "AssertionError: detach the fakes: ...") instead of a traceback that
# quotes the lines around the failing assert.
class ErrorMessageOnly(NbGraderPreprocessor):
    """In test cells, replace each error's traceback by its one-line message."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    out.traceback = [f"{out.ename}: {out.evalue}"]
        return cell, resources


c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ErrorMessageOnly, CSSHTMLHeaderPreprocessor]

# `python grade.py collect` puts hand-ins in downloaded/<assignment>/archive/ as
# <student>/<notebook>.ipynb (a folder per student, possibly inside a zip): the student id is
# the name of the folder that holds the notebook.
c.FileNameCollectorPlugin.named_regexp = r".*[/\\](?P<student_id>[^/\\]+)[/\\](?P<file_id>[^/\\]+\.ipynb)$"
