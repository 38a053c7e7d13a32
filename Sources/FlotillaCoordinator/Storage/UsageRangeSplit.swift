import Foundation

/// `[from, to)` cut at UTC midnights: the whole days between them (`day >= first AND day <
/// afterLast`, as `YYYY-MM-DD`), and the partial days at either end as time ranges.
struct UsageRangeSplit: Equatable {
    var records: [Range] = []
    var days: (first: String, afterLast: String)?

    struct Range: Equatable {
        var from: Date
        var to: Date
    }

    init(from: Date, to: Date) {
        guard from < to else { return }
        let startOfFrom = UTCCalendar.startOfDay(from)
        let firstMidnight = startOfFrom == from ? from : startOfFrom.addingTimeInterval(86_400)
        let lastMidnight = UTCCalendar.startOfDay(to)
        guard firstMidnight < lastMidnight else {
            records = [Range(from: from, to: to)]
            return
        }
        if from < firstMidnight { records.append(Range(from: from, to: firstMidnight)) }
        days = (UTCCalendar.day(firstMidnight), UTCCalendar.day(lastMidnight))
        if lastMidnight < to { records.append(Range(from: lastMidnight, to: to)) }
    }

    static func == (a: UsageRangeSplit, b: UsageRangeSplit) -> Bool {
        a.records == b.records && a.days?.first == b.days?.first && a.days?.afterLast == b.days?.afterLast
    }
}
