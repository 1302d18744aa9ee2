"""What the API's schemas share: the id bound, request bases, problems, paged lists."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from market.bounds import INT_MAX

# Ids are INTEGER columns: past INT_MAX PostgreSQL refuses the comparison itself (a 500).
Id = validate.Range(min=1, max=INT_MAX)


class Base(Schema):
    class Meta:
        unknown = EXCLUDE  # query strings carry extra parameters (caches, trackers)


class Problem(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True, metadata={"example": "urn:softcoop:problem:not-found"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Field errors, for validation problems."})


class PageQuery(Base):
    """A numbered page of a list (1 is the first)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


class CursorQuery(Base):
    """A page of a list read by cursor: absent for the first page."""

    cursor = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "`next_cursor` of the previous page; absent for the first"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def paged(name: str, item: type[Schema], *, cursor: bool = False) -> type[Schema]:
    """A list page of `item`s named `name` (its OpenAPI component's name).

    Numbered pages say their page, how many pages and items there are; cursor pages give
    the cursor of the next page (null on the last).
    """
    page: dict[str, fields.Field] = {"items": fields.List(fields.Nested(item), required=True)}
    if cursor:
        page["next_cursor"] = fields.String(
            required=True, allow_none=True, metadata={"description": "null on the last page"}
        )
    else:
        page |= {
            "page": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        }
    return Schema.from_dict(page, name=name)
