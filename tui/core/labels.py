"""The labels every container of this product carries, shared by the engine and the tests.

A container made by execdeck carries all four: `LABEL_PRODUCT` set to `PRODUCT`, the entry id, the console
instance id and the run id. The console finds its own containers (and orphans of crashed instances) by
these labels, and the test suite fails when any container with `PRODUCT_FILTER` is left behind.
Standard library only: the engine and the tests import this without importing each other.
"""

from __future__ import annotations

LABEL_PRODUCT = "execdeck.product"
LABEL_ENTRY = "execdeck.entry"
LABEL_INSTANCE = "execdeck.instance"
LABEL_RUN = "execdeck.run"

PRODUCT = "execdeck"

# The Docker API's `label` filter that selects every container of this product.
PRODUCT_FILTER = f"{LABEL_PRODUCT}={PRODUCT}"


def container_labels(entry_id: str, instance_id: str, run_id: str) -> dict[str, str]:
    """The full label set for a new container of entry `entry_id`, made by console `instance_id` in run
    `run_id`."""
    return {
        LABEL_PRODUCT: PRODUCT,
        LABEL_ENTRY: entry_id,
        LABEL_INSTANCE: instance_id,
        LABEL_RUN: run_id,
    }
