"""Study definitions: the YAML format coordinators write, validated and normalised.

See ``studies/README.md`` for the format. Typical use::

    defn = load_study_file("studies/reminder-rct.yaml")
    defn.allocation          # for hwtrial.randomisation.AllocationSpec.from_dict
    defn.features_for("reminders")
"""

from .definition import StudyDefinition
from .loader import load_study_data, load_study_file, load_study_text, validate_paths
from .problems import Problem, StudyDefinitionError, problems_as_errors
from .texts import resolve_texts

__all__ = [
    "Problem",
    "StudyDefinition",
    "StudyDefinitionError",
    "load_study_data",
    "load_study_file",
    "load_study_text",
    "problems_as_errors",
    "resolve_texts",
    "validate_paths",
]
