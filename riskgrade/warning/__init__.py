"""Monitoring and early warning (监测预警): rules, alerts, routing, disposition, notices, pushes.

* :mod:`.rules` - the rule catalog (``defaults/warnings.yaml``), validated on load;
* :mod:`.evaluate` - one DuckDB query per rule kind over what is new and the history it needs;
* :mod:`.grouping` - de-duplication, clusters, cool-down and suppression;
* :mod:`.routing` - the responsible unit, by the province's routing table (:mod:`riskgrade.codes.departments`);
* :mod:`.engine` - ``riskgrade warn``: watermark, evaluation, storage;
* :mod:`.workflow` - open -> assigned -> handled -> closed, hash-chained log;
* :mod:`.notices`, :mod:`.outbox` - notices to businesses (双推送) and their senders;
* :mod:`.exports` - the alerts and area-alerts exports and pushes to domain systems.
"""

from .engine import WarnResult, run_warn
from .rules import RuleCatalog, load_rules

__all__ = ["RuleCatalog", "WarnResult", "load_rules", "run_warn"]
