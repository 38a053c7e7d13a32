import Foundation

/// Charts drawn by the coordinator as inline SVG (no script, no library): a line chart of a
/// time series and a bar chart of values per label. Only presentation attributes are used, so
/// the Content-Security-Policy needs no inline styles.
enum SVGChart {
    static let width = 600.0
    /// Bar charts span a page's width.
    static let wideWidth = 1000.0
    static let height = 200.0
    static let left = 64.0
    static let right = 8.0
    static let top = 10.0
    static let bottom = 24.0

    /// A line chart of `points` between `from` and `to`; a nil value breaks the line.
    /// Points further apart than `gap` are not joined (the node was not reporting between them).
    static func line(id: String, title: String, unit: String, points: [(at: Date, value: Double?)], from: Date, to: Date,
                     fixedMax: Double? = nil, gap: TimeInterval = .infinity) -> HTML {
        let values = points.compactMap(\.value)
        let maxY = fixedMax ?? niceCeiling(values.max() ?? 1)
        let span = max(1, to.timeIntervalSince(from))
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func x(_ date: Date) -> Double { left + plotWidth * min(1, max(0, date.timeIntervalSince(from) / span)) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - min(1, max(0, value / maxY))) }
        var segments: [[(x: Double, y: Double)]] = [[]]
        var previous: Date?
        for point in points {
            guard let value = point.value else {
                if !(segments.last?.isEmpty ?? true) { segments.append([]) }
                continue
            }
            if let previous, point.at.timeIntervalSince(previous) > gap, !(segments.last?.isEmpty ?? true) { segments.append([]) }
            previous = point.at
            segments[segments.count - 1].append((x(point.at), y(value)))
        }
        let lines = segments.filter { !$0.isEmpty }.map { segment -> HTML in
            segment.count == 1
                ? "<circle cx=\"\(String(format: "%.1f", segment[0].x))\" cy=\"\(String(format: "%.1f", segment[0].y))\" r=\"2.5\" fill=\"#1d5fd1\"/>"
                : "<polyline fill=\"none\" stroke=\"#1d5fd1\" stroke-width=\"2\" points=\"\(segment.map { String(format: "%.1f,%.1f", $0.x, $0.y) }.joined(separator: " "))\"/>"
        }
        let summary = values.isEmpty
            ? "no readings in this range"
            : String(format: "%d readings, lowest %.1f, highest %.1f %@", values.count, values.min() ?? 0, values.max() ?? 0, unit)
        return """
            <figure>
            <figcaption id="\(id)-title">\(title)</figcaption>
            <svg class="chart" id="\(id)" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="\(id)-title \(id)-desc" data-points="\(values.count)">
            <desc id="\(id)-desc">\(summary)</desc>
            \(grid(maxY: maxY, unit: unit, width: width, format: Self.axisNumber))
            \(timeLabels(from: from, to: to))
            \(lines)
            \(values.isEmpty ? "<text x=\"300\" y=\"100\" text-anchor=\"middle\" font-size=\"13\" fill=\"#5b6678\">No readings in this range</text>" : HTML.empty)
            </svg>
            </figure>
            """
    }

    /// A bar chart: one bar per label.
    static func bars(id: String, title: String, unit: String, bars: [(label: String, value: Double)], format: (Double) -> String) -> HTML {
        let maxY = niceCeiling(bars.map(\.value).max() ?? 1)
        let width = Self.wideWidth
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let slot = plotWidth / Double(max(1, bars.count))
        let shapes = bars.enumerated().map { index, bar -> HTML in
            let barHeight = plotHeight * min(1, bar.value / maxY)
            let x = left + Double(index) * slot + slot * 0.15
            let label = bars.count <= 16 || index % max(1, bars.count / 8) == 0
                ? "<text x=\"\(String(format: "%.1f", x + slot * 0.35))\" y=\"\(Int(height - 8))\" text-anchor=\"middle\" font-size=\"10\" fill=\"#5b6678\">\(String(bar.label.suffix(5)))</text>"
                : HTML.empty
            return """
                <rect x="\(String(format: "%.1f", x))" y="\(String(format: "%.1f", top + plotHeight - barHeight))" width="\(String(format: "%.1f", slot * 0.7))" height="\(String(format: "%.1f", barHeight))" fill="#1d5fd1"><title>\(bar.label): \(format(bar.value))</title></rect>\(label)
                """
        }
        let total = bars.reduce(0) { $0 + $1.value }
        return """
            <figure>
            <figcaption id="\(id)-title">\(title)</figcaption>
            <svg class="chart" id="\(id)" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="\(id)-title \(id)-desc" data-points="\(bars.count)">
            <desc id="\(id)-desc">\(bars.count) bars, total \(format(total))</desc>
            \(grid(maxY: maxY, unit: "", width: width, format: format))
            \(shapes)
            </svg>
            </figure>
            """
    }

    /// Four horizontal grid lines labelled with their values.
    private static func grid(maxY: Double, unit: String, width: Double, format: (Double) -> String) -> HTML {
        let plotHeight = height - top - bottom
        return HTML.join((0...4).map { step -> HTML in
            let value = maxY * Double(step) / 4
            let y = top + plotHeight * (1 - Double(step) / 4)
            let label = format(value)
            return """
                <line x1="\(Int(left))" x2="\(Int(width - right))" y1="\(String(format: "%.1f", y))" y2="\(String(format: "%.1f", y))" stroke="#d8dde6" stroke-width="1"/>\
                <text x="\(Int(left - 4))" y="\(String(format: "%.1f", y + 4))" text-anchor="end" font-size="10" fill="#5b6678">\(label)\(step == 4 ? " " + unit : "")</text>
                """
        })
    }

    /// The range's start, middle and end times under the plot.
    private static func timeLabels(from: Date, to: Date) -> HTML {
        let span = to.timeIntervalSince(from)
        let utc = Date.FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .current)
        let style = span > 2 * 86_400 ? utc.month(.abbreviated).day().hour() : utc.hour().minute()
        let plotWidth = width - left - right
        return HTML.join([0.0, 0.5, 1.0].map { share -> HTML in
            let date = from.addingTimeInterval(span * share)
            let anchor = share == 0 ? "start" : share == 1 ? "end" : "middle"
            return "<text x=\"\(String(format: "%.1f", left + plotWidth * share))\" y=\"\(Int(height - 6))\" text-anchor=\"\(anchor)\" font-size=\"10\" fill=\"#5b6678\">\(date.formatted(style)) UTC</text>"
        })
    }

    static func axisNumber(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : value >= 1 ? String(format: "%.1f", value) : String(format: "%.3g", value)
    }

    /// 1, 2, 5 × 10ⁿ at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }
}
