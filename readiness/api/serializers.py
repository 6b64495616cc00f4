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


class RankingResponseSerializer(serializers.Serializer[object]):
    day = serializers.DateField()
    results = DayRankingRowSerializer(many=True)


class TrendPointSerializer(serializers.Serializer[object]):
    period = serializers.DateField()
    score = serializers.FloatField()
    days = serializers.IntegerField()


class TrendsSerializer(serializers.Serializer[object]):
    week = TrendPointSerializer(many=True)
    month = TrendPointSerializer(many=True)


class ScorecardResponseSerializer(ScorecardSerializer):
    trends = TrendsSerializer(read_only=True)

    class Meta(ScorecardSerializer.Meta):
        fields = [*ScorecardSerializer.Meta.fields, "trends"]
        read_only_fields = fields


class PublicSummarySerializer(serializers.Serializer[object]):
    start = serializers.DateField()
    end = serializers.DateField()
    published_at = serializers.DateTimeField()
    results = PublicRowSerializer(many=True)
