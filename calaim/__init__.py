"""calaim: helpers behind the CalAIM implementer-survey book.

The package is deliberately thin: the questionnaire lives in ``data/codebook.yml`` and the
published numbers in ``data/published/findings.csv``; the modules turn respondent-level data
into the report's tables, figures and models.
"""

from pathlib import Path

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
