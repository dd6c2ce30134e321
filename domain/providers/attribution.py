"""Which provider an order is charged to (派单归属): the attribution rule.

docs/adr/0092-order-attribution.md. An order (``ImplementationAssigned``) names the
provider of its ``assignee_role``'s kind that serves the case's compound on the day of the
dispatch (China time), or none: an order to the community, or to a kind the compound's
provider is not (an order to an owners' committee is never charged to the compound's
property company), or to a compound no provider serves that day. New orders carry the
answer in ``provider_code``, set by the server; orders recorded before that field existed
are attributed by the same rule against the directory as it is now (its ``provider_from``
reaches back to them, or they stay unattributed).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.directory.model import Level, ProviderKind
from domain.directory.view import DirectoryView

CHINA = timezone(timedelta(hours=8), "CST")
PROVIDER_KINDS = frozenset(kind.value for kind in ProviderKind)


def china_day(moment: datetime) -> str:
    """The day (YYYY-MM-DD) of a moment in China time."""
    return moment.astimezone(CHINA).date().isoformat()


def order_provider(view: DirectoryView, compound: str, assignee_role: str,
                   at: datetime) -> str | None:
    """The provider code an order dispatched at ``at`` is charged to, or None."""
    if assignee_role not in PROVIDER_KINDS:
        return None
    unit = view.get(compound)
    if unit is None or unit.level is not Level.COMPOUND:
        return None
    code = unit.provider_on(china_day(at))
    if code is None:
        return None
    provider = view.get(code)
    if provider is None or provider.kind != assignee_role:
        return None
    return code
