"""A cron entry firing every second, for the multi-worker cron test."""

from tests.support.jobs import cron_tick

CRON_JOBS = [("test.every_second", "* * * * * *", cron_tick)]
