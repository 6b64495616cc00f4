from __future__ import annotations

from rest_framework import serializers

from readiness.models import PublishedPeriod, ReadinessSnapshot


class RankingRowSerializer(serializers.Serializer[object]):
    """Scores and levels only: what every signed-in user, and the public summary, may see."""

    rank = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    score = serializers.FloatField()
    level = serializers.CharField()


class DayRankingRowSerializer(RankingRowSerializer):
    dimensions = serializers.DictField(child=serializers.FloatField(allow_null=True))
    week_change = serializers.FloatField(allow_null=True)
    month_change = serializers.FloatField(allow_null=True)


class PublicRowSerializer(RankingRowSerializer):
    days = serializers.IntegerField()


class ScorecardSerializer(serializers.ModelSerializer[ReadinessSnapshot]):
    province = serializers.CharField(source="province.code", read_only=True)

    class Meta:
        model = ReadinessSnapshot
        fields = ["province", "day", "score", "level", "dimensions", "actions", "measures", "computed_at"]
        read_only_fields = fields


class PublishedPeriodSerializer(serializers.ModelSerializer[PublishedPeriod]):
    class Meta:
        model = PublishedPeriod
        fields = ["start", "end", "published_at"]
        read_only_fields = ["published_at"]
