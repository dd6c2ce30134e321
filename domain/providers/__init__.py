"""Providers and the red/black list (红黑榜): property companies and self-managing owners'
committees, their monthly figures, ratings, summons and replacements (practices.md)."""

from domain.providers.config import ProviderRules
from domain.providers.model import Provider, provider_id
from domain.providers.service import ProviderRecorded, Providers

__all__ = ["Provider", "ProviderRecorded", "ProviderRules", "Providers", "provider_id"]
