"""Sigma rules → Elasticsearch queries and sliding-window correlations for our ECS events.

Public API:
    convert_rule(yaml_text) -> ConvertedRule          one rule file → query (or problems)
    import_folder(path) -> ImportReport               a folder of rules, each imported or why not
    evaluate_correlation(es, index, spec, start, end) -> list[CorrelationMatch]
    sigma_mappings()                                  index mapping the queries rely on
"""

from detection.sigma.convert import ConvertedRule, RuleProblem, convert_rule, lucene_filter
from detection.sigma.correlation import CorrelationMatch, evaluate_correlation
from detection.sigma.correlation_spec import CorrelatedRule, CorrelationSpec
from detection.sigma.importer import ImportReport, RuleImport, import_folder
from detection.sigma.mapping import sigma_mappings
from detection.sigma.pipelines import Profile, resolve_profile

__all__ = [
    "ConvertedRule", "CorrelatedRule", "CorrelationMatch", "CorrelationSpec", "ImportReport",
    "Profile", "RuleImport", "RuleProblem", "convert_rule", "evaluate_correlation", "import_folder",
    "lucene_filter", "resolve_profile", "sigma_mappings",
]
