"""Participation points (积分制): participants, their ledgers, the earning rules, masking.

practices.md, "Participation points"; docs/adr/0100-earning-rules.md and
0101-exactly-once-awards.md.
"""

from domain.points.ledger import BalanceTooLow, NotReversible, Participant, ParticipantNotFound
from domain.points.masking import mask_name
from domain.points.rules import RULES, Award, CaseEvent, Rule, awards_for, points_table
from domain.points.service import Points, subject_of

__all__ = ["RULES", "Award", "BalanceTooLow", "CaseEvent", "NotReversible", "Participant",
           "ParticipantNotFound", "Points", "Rule", "awards_for", "mask_name", "points_table",
           "subject_of"]
