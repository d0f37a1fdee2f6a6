"""Schemas for arms, factors, strata, clusters and the allocation method."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..fields import LEVEL_RE, Int, Key, KeyedDict, Number, OneOf
from .features import FeaturesSchema

#: Arm keys; factorial cells are ``factor=level|factor=level``.
ARM_KEY_RE = r"^[a-z][a-z0-9_]*(?:=[a-z0-9][a-z0-9_]*(?:\|[a-z][a-z0-9_]*=[a-z0-9][a-z0-9_]*)*)?$"
#: Largest allocation ratio of one arm (ratios are small whole numbers such as 2:1).
MAX_RATIO = 100
METHODS = ("simple", "permuted_blocks", "minimisation", "factorial", "cluster")


class ArmSchema(Schema):
    key = Key(ARM_KEY_RE, required=True)
    code = fields.String(allow_none=True, validate=validate.Length(min=1, max=16))
    label = fields.String(allow_none=True)
    ratio = Int(load_default=1, validate=validate.Range(min=1, max=MAX_RATIO))
    features = fields.Nested(FeaturesSchema, load_default=dict)


class LevelSchema(Schema):
    key = Key(LEVEL_RE, required=True)
    label = fields.String(allow_none=True)
    features = fields.Nested(FeaturesSchema, load_default=dict)


class FactorSchema(Schema):
    key = Key(required=True)
    label = fields.String(allow_none=True)
    levels = fields.List(fields.Nested(LevelSchema), required=True, validate=validate.Length(
        equal=2, error="a factor has exactly two levels (a 2^k design)"))


class StratumSchema(Schema):
    key = Key(required=True)
    levels = fields.List(Key(LEVEL_RE), required=True, validate=validate.Length(min=2))


class ClustersSchema(Schema):
    unit = OneOf("therapist", "site", required=True)
    covariates = fields.List(fields.Nested(StratumSchema), load_default=list)


#: Largest permuted block (a block is drawn as a whole for every stratum).
MAX_BLOCK_SIZE = 1000


def BlockSizes(**kwargs) -> fields.List:  # noqa: N802
    return fields.List(Int(validate=validate.Range(min=1, max=MAX_BLOCK_SIZE)), allow_none=True,
                       validate=validate.Length(min=1), **kwargs)


class MinimisationSchema(Schema):
    factors = fields.List(Key(), allow_none=True)
    weights = KeyedDict(keys=Key(), values=Number(validate=validate.Range(min=0, min_inclusive=False)),
                        allow_none=True)
    imbalance = OneOf("range", "variance", "sd", load_default="range")
    variant = OneOf("pocock_simon", "taves", load_default="pocock_simon")
    p = Number(allow_none=True, validate=validate.Range(min=0, max=1))


class FactorialAllocationSchema(Schema):
    method = OneOf("blocks", "minimisation", load_default="blocks")


class ClusterAllocationSchema(Schema):
    method = OneOf("simple", "permuted_blocks", "minimisation", load_default="simple")
    block_sizes = BlockSizes()


class AllocationSchema(Schema):
    method = OneOf(*METHODS, required=True)
    block_sizes = BlockSizes()
    stratify_by = fields.List(Key(), allow_none=True)
    minimisation = fields.Nested(MinimisationSchema, allow_none=True)
    factorial = fields.Nested(FactorialAllocationSchema, allow_none=True)
    cluster = fields.Nested(ClusterAllocationSchema, allow_none=True)


#: ``{C: AB}``: factor letters (A = first factor) and the generator word.
Fractional = KeyedDict(
    keys=Key(r"^[A-Z]$"),
    values=fields.String(validate=validate.Regexp(
        r"^-?[A-Z]{2,}$", error="{input!r} is not a generator word such as AB or -AB")),
    allow_none=True,
)
