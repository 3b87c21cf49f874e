"""Intent discovery: cluster unlabelled customer openers into proposed intents.

The workflow (see docs/intent_discovery.md)::

    python -m training discover unlabelled_openers.jsonl --out discovery/
    # edit discovery/intents_proposed.yml: rename, keep, merge or drop each cluster
    python -m training apply-intents discovery/intents_proposed.yml --out data/nlu/discovered.yml

Library use: :func:`~training.discover.pipeline.discover` turns texts into
:class:`~training.discover.proposals.Proposals`; :func:`~training.discover.apply.apply_file`
turns a reviewed proposals file into Rasa NLU YAML (written by :mod:`training.rasa_yaml`).
"""

from training.discover.apply import ApplyResult, apply_file, build_intents
from training.discover.cluster import ClusterConfig, Clustering, cluster_embeddings
from training.discover.inputs import read_texts
from training.discover.naming import key_terms, name_clusters
from training.discover.pipeline import DiscoveryResult, discover
from training.discover.proposals import (
    ClusterProposal,
    Member,
    ProposalError,
    Proposals,
    load_proposals,
    read_members,
    write_members,
    write_proposals,
)

__all__ = [
    "ApplyResult",
    "ClusterConfig",
    "ClusterProposal",
    "Clustering",
    "DiscoveryResult",
    "Member",
    "ProposalError",
    "Proposals",
    "apply_file",
    "build_intents",
    "cluster_embeddings",
    "discover",
    "key_terms",
    "load_proposals",
    "name_clusters",
    "read_members",
    "read_texts",
    "write_members",
    "write_proposals",
]
