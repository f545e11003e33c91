public import InferenceCore

extension DashboardRollout {
    /// The page's view of a roll-out record: its state (and mode while it runs), the versions, the
    /// good windows so far and the latest decision with its reason.
    public init(record: RolloutRecord) {
        let state = record.state == .running ? "\(record.mode)" : record.state.rawValue.replacingOccurrences(of: "_", with: " ")
        var details: [Detail] = [
            Detail(name: "model", value: record.modelName),
            Detail(name: "roll-out", value: record.rolloutID),
            Detail(name: "primary", value: record.primaryVersion),
        ]
        if let candidate = record.candidateVersion { details.append(Detail(name: "candidate", value: candidate)) }
        if let previous = record.previousPrimaryVersion { details.append(Detail(name: "previous primary", value: previous)) }
        details.append(Detail(name: "mode", value: "\(record.mode)"))
        details.append(Detail(name: "good windows", value: "\(record.consecutiveGoodWindows) of \(record.policy.promoteAfterWindows)"))
        if let last = record.decisions.last {
            details.append(Detail(name: "last decision", value: "\(last.action.rawValue) (\(last.manual ? "by hand" : "by the policy")): \(last.reason)"))
        }
        self.init(state: state, details: details)
    }
}
