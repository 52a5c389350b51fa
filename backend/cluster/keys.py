"""The cluster's snapshot key (issue 20): one random AES-256 key shared by every node, so whichever node takes a
number restores the login snapshot another node sealed. It rests in PostgreSQL only wrapped under the cluster's
passphrase (`ZAPOOL_CLUSTER_PASSPHRASE`, scrypt as for a sealed data folder): whoever reads the database without
the passphrase gets sealed bytes. The first node to start makes the key; a node given another passphrase stops
with a clear message before it touches anything.
"""

from __future__ import annotations

import logging
import os

from ..sealing import Sealer, WrongPassphrase
from ..sealing.cipher import new_key, new_key_id
from ..sealing.wrapping import unwrap_with_passphrase, wrap_with_passphrase
from ..store.pg_snapshots import PgClusterKeys

log = logging.getLogger(__name__)
PASSPHRASE_ENV = "ZAPOOL_CLUSTER_PASSPHRASE"
KEY_NAME = "snapshots"


def cluster_passphrase() -> str | None:
    """The cluster's passphrase from the environment (unset or empty: None)."""
    return os.environ.get(PASSPHRASE_ENV) or None


def snapshot_sealer(keys: PgClusterKeys, passphrase: str) -> Sealer:
    """The sealer of the cluster's snapshots: the stored key opened with the passphrase, or a new one stored
    (another node starting at once may store its own first: the one kept is used). WrongPassphrase when the
    passphrase does not open the stored key."""
    stored = keys.get(KEY_NAME)
    if stored is None:
        key_id, key = new_key_id(), new_key()
        stored = keys.put_first(KEY_NAME, key_id, wrap_with_passphrase(key, passphrase, key_id))
        if stored[0] == key_id:
            log.info("[Cluster] chave dos instantâneos criada (%s)", key_id)
            return Sealer({key_id: key}, key_id)
    key_id, wrapped = stored
    opened = unwrap_with_passphrase(wrapped, passphrase, key_id)
    if opened is None:
        raise WrongPassphrase(f"{PASSPHRASE_ENV} does not open this cluster's snapshot key: every node needs "
                              "the passphrase the first node started with")
    return Sealer({key_id: opened}, key_id)
