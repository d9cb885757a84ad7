import HalfTraceAnchors
import HalfTraceAutograd

/// One labelled box: its class and its centre and size normalised to [0, 1] by the image size
/// (a line of a YOLO label file).
public struct BoxLabel: Sendable, Equatable, Codable {
    /// The class index.
    public var classIndex: Int
    /// Centre x / image width.
    public var x: Float
    /// Centre y / image height.
    public var y: Float
    /// Width / image width.
    public var w: Float
    /// Height / image height.
    public var h: Float

    /// A label of `classIndex` at (x, y) of size (w, h), all normalised.
    public init(classIndex: Int, x: Float, y: Float, w: Float, h: Float) {
        self.classIndex = classIndex
        self.x = x
        self.y = y
        self.w = w
        self.h = h
    }

    /// The label as a YOLO label-file line, `class cx cy w h`, each number the shortest text that
    /// reads back as the same float32.
    public var line: String { "\(classIndex) \(x) \(y) \(w) \(h)" }

    /// The box's corners in pixels of a `width` x `height` image, as YOLOv5's `xywhn2xyxy`.
    public func corners(width: Int, height: Int) -> SIMD4<Float> {
        let (W, H) = (Float(width), Float(height))
        return SIMD4(W * (x - w / 2), H * (y - h / 2), W * (x + w / 2), H * (y + h / 2))
    }
}

/// An image with its labels.
public struct DetectionSample: Sendable, Equatable {
    /// The image's file name without its extension (`train000`).
    public var name: String
    /// The pixels.
    public var image: RGBImage
    /// The labelled boxes, in file order.
    public var labels: [BoxLabel]

    /// A sample named `name`.
    public init(name: String, image: RGBImage, labels: [BoxLabel]) {
        self.name = name
        self.image = image
        self.labels = labels
    }
}

/// A set of labelled images of one size, with the class names.
public struct DetectionDataset: Sendable, Equatable {
    /// The images and their labels.
    public var samples: [DetectionSample]
    /// The class names (`names:` of data.yaml); their count is nc.
    public var classNames: [String]

    /// A dataset of `samples` over `classNames`.
    public init(samples: [DetectionSample], classNames: [String]) {
        self.samples = samples
        self.classNames = classNames
    }

    /// nc.
    public var classes: Int { classNames.count }
    /// The number of images.
    public var count: Int { samples.count }
    /// The number of labelled boxes.
    public var labelCount: Int { samples.reduce(0) { $0 + $1.labels.count } }

    /// The label sizes in the form AutoAnchor reads (`YOLODataset`).
    public var anchorDataset: YOLODataset {
        YOLODataset(images: samples.map { s in
            YOLODataset.Image(name: s.name, width: Double(s.image.width), height: Double(s.image.height),
                              boxes: s.labels.map { (w: $0.w, h: $0.h) })
        })
    }

    /// The images at `indices` as an NHWC batch [n, h, w, 3] of pixel / 255 (float32, as YOLOv5's
    /// `imgs.float() / 255`), rounded once to `dtype`, and their labels as targets with the image's
    /// position in the batch. `flipped[k]` mirrors image k left-right (its labels' x become 1 - x).
    public func batch(_ indices: [Int], dtype: DType, flipped: [Bool]? = nil) -> (images: Tensor, targets: [TargetBox]) {
        precondition(!indices.isEmpty, "DetectionDataset.batch: no images")
        let (w, h) = (samples[indices[0]].image.width, samples[indices[0]].image.height)
        var values = [Float](repeating: 0, count: indices.count * h * w * 3)
        var targets: [TargetBox] = []
        for (k, i) in indices.enumerated() {
            let s = samples[i]
            precondition(s.image.width == w && s.image.height == h, "DetectionDataset.batch: images of different sizes")
            let flip = flipped?[k] ?? false
            s.image.pixels.withUnsafeBufferPointer { p in
                for y in 0..<h {
                    for x in 0..<w {
                        let source = (y * w + (flip ? w - 1 - x : x)) * 3, target = ((k * h + y) * w + x) * 3
                        for c in 0..<3 { values[target + c] = Float(p[source + c]) / 255 }
                    }
                }
            }
            for l in s.labels {
                targets.append(TargetBox(image: k, classIndex: l.classIndex, x: flip ? 1 - l.x : l.x, y: l.y, w: l.w, h: l.h))
            }
        }
        return (Tensor(floats: values, shape: [indices.count, h, w, 3], dtype: dtype), targets)
    }
}

/// Training and validation sets of one problem, with where they came from.
public struct DetectionData: Sendable, Equatable {
    /// The images the model trains on.
    public var train: DetectionDataset
    /// The images the metrics are computed on.
    public var validation: DetectionDataset
    /// Where the data came from (a folder, or the generator and its seed).
    public var source: String
    /// What the reader skipped or changed, for the user to read (background images, duplicate
    /// labels removed, label files without an image).
    public var notes: [String]

    /// Data from its parts.
    public init(train: DetectionDataset, validation: DetectionDataset, source: String, notes: [String] = []) {
        self.train = train
        self.validation = validation
        self.source = source
        self.notes = notes
    }
}
