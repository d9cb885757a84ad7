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

    /// The box's corners in pixels of a `width` x `height` image, as val.py gets them in float32:
    /// the label scaled to pixels first (`targets[:, 2:] *= (w, h, w, h)`), then `xywh2xyxy`.
    public func corners(width: Int, height: Int) -> SIMD4<Float> {
        let (W, H) = (Float(width), Float(height))
        let (px, py, pw, ph) = (x * W, y * H, w * W, h * H)
        return SIMD4(px - pw / 2, py - ph / 2, px + pw / 2, py + ph / 2)
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

    /// The images at `indices` as a batch (`DetectionDataset.batch(images:labels:dtype:)`).
    public func batch(_ indices: [Int], dtype: DType) -> (images: Tensor, targets: [TargetBox]) {
        Self.batch(images: indices.map { samples[$0].image }, labels: indices.map { samples[$0].labels }, dtype: dtype)
    }

    /// Images of one size as an NHWC batch [n, h, w, 3] of pixel / 255 (float32, as YOLOv5's
    /// `imgs.float() / 255`), rounded once to `dtype`, and their labels as targets with the
    /// image's position in the batch (YOLOv5's `collate_fn`).
    public static func batch(images: [RGBImage], labels: [[BoxLabel]], dtype: DType) -> (images: Tensor, targets: [TargetBox]) {
        precondition(!images.isEmpty && images.count == labels.count, "DetectionDataset.batch: \(images.count) images, \(labels.count) label lists")
        let (w, h) = (images[0].width, images[0].height)
        var values = [Float](repeating: 0, count: images.count * h * w * 3)
        var targets: [TargetBox] = []
        for (k, image) in images.enumerated() {
            precondition(image.width == w && image.height == h, "DetectionDataset.batch: images of different sizes")
            let offset = k * h * w * 3
            image.pixels.withUnsafeBufferPointer { p in
                for i in p.indices { values[offset + i] = Float(p[i]) / 255 }
            }
            for l in labels[k] {
                targets.append(TargetBox(image: k, classIndex: l.classIndex, x: l.x, y: l.y, w: l.w, h: l.h))
            }
        }
        return (Tensor(floats: values, shape: [images.count, h, w, 3], dtype: dtype), targets)
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
