"""Fee collection (物业费, 卫生费 收取率): periods, rules, figures (practices.md)."""

from domain.fees.figures import DEFAULT_GROUP_BY, GROUP_KEYS, FeeFigure, grouped
from domain.fees.model import FeePeriod, period_id
from domain.fees.rules import FEE_KINDS, RECORDERS, FeeLedger, check_recorder, clean_data
from domain.fees.service import FeeRecorded, Fees

__all__ = ["DEFAULT_GROUP_BY", "FEE_KINDS", "GROUP_KEYS", "RECORDERS", "FeeFigure",
           "FeeLedger", "FeePeriod", "FeeRecorded", "Fees", "check_recorder", "clean_data",
           "grouped", "period_id"]
