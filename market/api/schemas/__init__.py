"""The API's marshmallow schemas: they validate requests and document the OpenAPI spec.

One module a sub-domain (`public`, `member`, `decisions`, `deals` for members' and vendors'
deals, `admin`), each class's name its component's name in `/api/v1/openapi.json` (clients
and the tests rely on those names). `base` holds what they share: the id bound, the base of
request schemas, problems and the `paged` factory for list pages.

Money is integer cents with its currency; shares are basis points (10000 = 100 %).
Identifiers are bounded to what an INTEGER column holds (larger ones would be a 500 on
PostgreSQL), text to what the columns hold.
"""
