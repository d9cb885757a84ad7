/// Which releases could have written a run directory, from its own files: the settings file's
/// keys (each release line added and removed some), the shape of results.csv (padding, the
/// epoch base, a `time` column, the number of lr columns), and a release named by steps.csv's
/// header or a checkpoint.
public enum ReleaseDetection {
    /// The releases a run fits, [lower, upper), and why.
    public struct Evidence: Sendable {
        /// The oldest release the files allow.
        public var lower: ReleaseVersion
        /// Exclusive.
        public var upper: ReleaseVersion
        /// The files' evidence for the two bounds.
        public var reasons: [String]

        /// The rules of `package` whose releases meet [lower, upper).
        func candidates(_ package: ReleaseRules.Package) -> [ReleaseRules] {
            ReleaseRules.all.filter { $0.package == package && $0.versions.lower < upper && lower <= $0.versions.upper }
        }
    }

    /// Keys of Ultralytics' `args.yaml` (`cfg/default.yaml`) by the first release that added or
    /// removed them, bisected over the PyPI releases.
    static let ultralyticsKeyChanges: [(ReleaseVersion, added: [String], removed: [String])] = [
        (ReleaseVersion(8, 0, 4), ["cfg"], []),
        (ReleaseVersion(8, 0, 35), ["save_period", "split", "classes"], ["hydra"]),
        (ReleaseVersion(8, 0, 39), ["tracker"], []),
        (ReleaseVersion(8, 0, 57), ["amp"], []),
        (ReleaseVersion(8, 0, 62), ["show_labels", "show_conf"], ["hide_labels", "hide_conf"]),
        (ReleaseVersion(8, 0, 66), ["pose", "kobj"], []),
        (ReleaseVersion(8, 0, 71), [], ["fl_gamma"]),
        (ReleaseVersion(8, 0, 89), [], ["image_weights"]),
        (ReleaseVersion(8, 0, 93), ["line_width"], ["line_thickness"]),
        (ReleaseVersion(8, 0, 110), ["fraction", "profile"], []),
        (ReleaseVersion(8, 0, 135), [], ["v5loader"]),
        (ReleaseVersion(8, 0, 154), ["freeze"], []),
        (ReleaseVersion(8, 0, 164), ["stream_buffer"], []),
        (ReleaseVersion(8, 0, 218), ["show_boxes"], []),
        (ReleaseVersion(8, 0, 219), ["save_frames"], []),
        (ReleaseVersion(8, 0, 228), ["time"], []),
        (ReleaseVersion(8, 0, 229), ["embed"], []),
        (ReleaseVersion(8, 0, 233), ["auto_augment", "erasing"], []),
        (ReleaseVersion(8, 0, 235), ["multi_scale"], []),
        (ReleaseVersion(8, 1, 33), ["bgr"], []),
        (ReleaseVersion(8, 3, 0), ["copy_paste_mode"], []),
        (ReleaseVersion(8, 3, 38), [], ["label_smoothing"]),
        (ReleaseVersion(8, 3, 105), [], ["save_hybrid"]),
        (ReleaseVersion(8, 3, 119), ["cutmix"], []),
        (ReleaseVersion(8, 3, 196), ["compile"], []),
        (ReleaseVersion(8, 4, 0), ["rle", "angle"], []),
        (ReleaseVersion(8, 4, 37), ["cls_pw"], []),
        (ReleaseVersion(8, 4, 77), ["distill_model", "dis"], []),
        (ReleaseVersion(8, 4, 80), ["quantize"], ["half", "int8"]),
        (ReleaseVersion(8, 4, 91), ["cls_remap"], []),
        (ReleaseVersion(8, 4, 104), ["dlog", "dgrad", "dlam"], []),
        (ReleaseVersion(8, 4, 105), ["channels_last"], []),
        (ReleaseVersion(8, 4, 164), [], ["keras"]),
    ]

    /// Keys of YOLOv5's `opt.yaml` (argparse) by the first pip release that added or removed them.
    static let yolov5KeyChanges: [(ReleaseVersion, added: [String], removed: [String])] = [
        (ReleaseVersion(6, 1, 0), ["optimizer", "cos_lr"], ["adam", "linear_lr"]),
        (ReleaseVersion(6, 1, 2), ["noplots"], []),
        (ReleaseVersion(6, 1, 7), ["seed"], []),
        (ReleaseVersion(7, 0, 3), ["hf_model_id", "hf_token", "hf_private"], []),
        (ReleaseVersion(7, 0, 5), ["hf_dataset_id"], []),
        (ReleaseVersion(7, 0, 8), ["roboflow_token"], []),
        (ReleaseVersion(7, 0, 11), ["roboflow_upload"], []),
        (ReleaseVersion(7, 0, 13), ["neptune_resume_id"], []),
    ]

    /// The releases `run`'s files allow.
    public static func evidence(_ run: LoggedRun) -> Evidence {
        let keys = Set(run.settingsKeys)
        let file = run.settingsFile.split(separator: "/").last.map(String.init) ?? run.settingsFile
        var e = run.package == .yolov5
            ? Evidence(lower: ReleaseVersion(6, 0, 1), upper: ReleaseVersion(7, 1, 0), reasons: [])
            : Evidence(lower: ReleaseVersion(8, 0, 0), upper: ReleaseVersion(8, 5, 0), reasons: [])
        var lowerReason: String? = nil, upperReason: String? = nil
        func atLeast(_ v: ReleaseVersion, _ why: String) { if v > e.lower { e.lower = v; lowerReason = why } }
        func below(_ v: ReleaseVersion, _ why: String) { if v < e.upper { e.upper = v; upperReason = why } }
        for (v, added, removed) in run.package == .yolov5 ? yolov5KeyChanges : ultralyticsKeyChanges {
            for k in added { if keys.contains(k) { atLeast(v, "\(file) has '\(k)' (\(v)+)") } else { below(v, "\(file) has no '\(k)' (added in \(v))") } }
            for k in removed { if keys.contains(k) { below(v, "\(file) has '\(k)' (removed in \(v))") } else { atLeast(v, "\(file) has no '\(k)' (removed in \(v))") } }
        }
        if run.package == .ultralytics {
            let r = run.results
            if r.rows.first?.loggedEpoch == 0 { below(ReleaseVersion(8, 0, 162), "results.csv counts epochs from 0 (8.0.161 and older)") }
            else if !r.padded || r.hasTime { atLeast(ReleaseVersion(8, 0, 162), "results.csv counts epochs from 1 (8.0.162+)") }
            if r.hasTime { atLeast(ReleaseVersion(8, 3, 9), "results.csv has a time column (8.3.9+)") }
            else if r.padded { below(ReleaseVersion(8, 3, 9), "results.csv is padded (%23.5g, 8.3.8 and older)") }
            if r.lrColumns.count == 8 { atLeast(ReleaseVersion(8, 4, 0), "results.csv has 8 lr columns: MuSGD's groups (8.4.0+)") }
        }
        e.reasons = [lowerReason, upperReason].compactMap { $0 }
        if let (version, source) = run.version {
            e.lower = version
            e.upper = ReleaseVersion(version.major, version.minor, version.patch + 1)
            e.reasons = ["\(source) names \(run.package.rawValue) \(version)"]
        }
        return e
    }
}
