"""A simulated district for demonstrations and load tests (模拟街道).

``district`` builds the street, communities, compounds and people from a seed;
``problems`` holds what residents report; ``story`` plays one case through the eight steps;
``driver`` runs a year of cases in chunks and saves them; ``directory`` registers the
district's directory first. The same seed, ``now`` and case count give the same events.
"""
