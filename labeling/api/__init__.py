"""The REST API (Django REST framework, OpenAPI at /api/schema/, docs at /api/docs/): views in
``views/`` (one module per resource, each with its ``permission_classes`` from
``permissions``), serializers, token authentication and throttling. Like the pages, it reads
through ``labeling.selectors`` and writes through ``labeling.services``."""
