package loader

// Schedules are the runs the template should declare for the function: EventBridge Scheduler (SAM event type
// ScheduleV2) with ScheduleExpressionTimezone America/New_York, so the times follow daylight saving. Each run
// is Scheduled: it rewrites the Lookback days up to its own date, so running it more often is harmless.
//
// Why these times: on a split's ex-date D, bars of D compare with D-1's close, which must then be the
// split-adjusted one. Alpaca adjusts history only once the split is effective, so the run after the close on
// D-1 still stores the unadjusted close; it must be rewritten on D before enrichment first asks for it. The
// enrich function caches a close it found for up to 15 minutes (prevclose.Cache), so a fix reaches every bar
// at most 15 minutes after it lands in the table. Pre-market bars start at 04:00 ET, hence the 03:30 run; if
// Alpaca had not adjusted its data by then, the 09:00 run fixes the table in time for the 09:30 open (only
// pre-market bars would have shown the fake change).
var Schedules = []struct {
	Name, Expression, Why string
}{
	{"after-close", "cron(30 16 ? * MON-FRI *)", "the day's close, known once the session ends"},
	{"pre-market", "cron(30 3 ? * MON-FRI *)", "split-adjusted closes in place before the first pre-market bar (04:00)"},
	{"pre-open", "cron(0 9 ? * MON-FRI *)", "second chance before the 09:30 open; cached closes expire by 09:15"},
}

// ScheduleTimezone is the time zone of Schedules' expressions.
const ScheduleTimezone = "America/New_York"
