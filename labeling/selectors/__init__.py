"""Read-side queries: take keyword arguments, return querysets or plain data; never write.

By page: ``review`` (the card), ``review_reason``, ``category_index`` and ``category_search``
(categories in memory, mapping across versions, the search), ``reports`` and ``report_pairs``,
``dashboard`` and ``dashboard_activity``, ``overview``, ``models``, ``items``, ``labels``,
``label_origins``, ``predictions``, ``taxonomy`` (current versions) and ``taxonomy_admin``,
``version_mapping``, ``api_tokens``, ``hotkeys`` (the review page's keys, per reviewer),
``guidelines`` (categories' guidelines and their audit trail), ``assignments`` (which queue
entries a reviewer may be handed), ``catalog`` (every item's status and final category: the
catalog export and ``/api/catalog/``).
Selectors may import ``labeling.models`` and each other, never services, views or tasks.
"""
