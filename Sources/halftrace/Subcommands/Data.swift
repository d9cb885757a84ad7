import ArgumentParser
import Foundation
import HalfTraceDetection
import HalfTraceKernels
import HalfTraceTraining

extension HalfTraceCommand {
    struct DataCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "Write the detector's synthetic shapes as a YOLO dataset folder, or preview the training augmentation.",
            discussion: "--out DIR writes DIR/data.yaml, DIR/images/{train,val}/*.png and DIR/labels/{train,val}/*.txt (what `train --model detector --data DIR` and YOLOv5's train.py read). --preview FILE.png draws a grid of augmented training images with their labels, as YOLOv5's train_batch0.jpg.")

        @Option(help: "Write the synthetic set into this directory as a YOLO dataset.") var out: String?
        @Option(help: "Read this YOLO dataset folder instead of drawing the synthetic set (with --preview).") var data: String?
        @Option(help: "Draw augmented training images with their boxes into this PNG file.") var preview: String?
        @Option(help: "Training images (synthetic set; default 300).") var train: Int = 300
        @Option(help: "Validation images (synthetic set; default 100).") var val: Int = 100
        @Option(help: "Image size in pixels (default 64).") var imgsz: Int = 64
        @Option(name: .customLong("data-seed"), help: "Seed of the synthetic images (default 0).") var dataSeed: UInt64 = 0
        @Option(help: "Seed of the augmentation in --preview (default 0).") var seed: UInt64 = 0
        @Option(help: "Images in --preview (default 16).") var count: Int = 16

        func validate() throws {
            guard out != nil || preview != nil else { throw ValidationError("nothing to do: give --out DIR and/or --preview FILE.png") }
            if data != nil && out != nil { throw ValidationError("--data reads an existing folder; --out writes the synthetic set: give one") }
            guard (1...100_000).contains(train), (1...100_000).contains(val) else { throw ValidationError("--train and --val must be in 1...100000") }
            guard (32...1024).contains(imgsz), imgsz % 16 == 0 else { throw ValidationError("--imgsz \(imgsz) must be a multiple of 16 in 32...1024") }
            guard (1...256).contains(count) else { throw ValidationError("--count \(count) is outside 1...256") }
            if let preview, !preview.lowercased().hasSuffix(".png") { throw ValidationError("--preview \(preview): the preview is a .png file") }
        }

        func run() throws {
            let set = try data.map { try YOLOFolder.load($0, imageSize: imgsz) }
                ?? SyntheticShapes.make(train: train, validation: val, size: imgsz, seed: dataSeed)
            if let out {
                try YOLOFolder.write(set, to: out)
                print("wrote \(out): \(set.train.count) + \(set.validation.count) images, \(set.train.labelCount) + \(set.validation.labelCount) labels (data.yaml, images/, labels/)")
            }
            if let preview {
                let hyp = DetectorHyperparameters().augmentation
                let samples = (0..<count).map { k -> (RGBImage, [BoxLabel]) in
                    var rng = SplitMix64.stream(seed: seed &+ 2, index: UInt64(k))
                    return Augmentation.sample(set.train, index: k % set.train.count, hyp: hyp, using: &rng)
                }
                let grid = Preview.grid(samples)
                do {
                    try AtomicFile.write(Data(PNG.encode(grid)), to: preview)
                } catch let e as HalfTraceError { throw CommandFailure("--preview: \(e)") }
                print("wrote \(preview): \(count) augmented training images (mosaic, scale, translation, HSV, flips) with their labels")
            }
        }
    }
}

/// A grid of images with their labelled boxes outlined in a colour per class.
enum Preview {
    static let colours: [[UInt8]] = [[255, 56, 56], [56, 255, 56], [56, 120, 255], [255, 200, 30], [200, 60, 255], [30, 220, 220]]

    static func grid(_ samples: [(RGBImage, [BoxLabel])]) -> RGBImage {
        let s = samples[0].0.width, scale = 3, gap = 2
        let columns = Int(Double(samples.count).squareRoot().rounded(.up)), rows = (samples.count + columns - 1) / columns
        let cell = s * scale + gap
        let (w, h) = (columns * cell + gap, rows * cell + gap)
        var pixels = [UInt8](repeating: 255, count: w * h * 3)
        for (k, (image, labels)) in samples.enumerated() {
            let (ox, oy) = (gap + (k % columns) * cell, gap + (k / columns) * cell)
            for y in 0..<(s * scale) {
                for x in 0..<(s * scale) {
                    for c in 0..<3 { pixels[((oy + y) * w + ox + x) * 3 + c] = image.pixels[((y / scale) * s + x / scale) * 3 + c] }
                }
            }
            for l in labels {
                let b = l.corners(width: s * scale, height: s * scale)
                let colour = colours[l.classIndex % colours.count]
                let (x1, y1) = (max(0, Int(b[0])), max(0, Int(b[1]))), (x2, y2) = (min(s * scale - 1, Int(b[2])), min(s * scale - 1, Int(b[3])))
                guard x1 <= x2, y1 <= y2 else { continue }
                for x in x1...x2 { for y in [y1, y2] { for c in 0..<3 { pixels[((oy + y) * w + ox + x) * 3 + c] = colour[c] } } }
                for y in y1...y2 { for x in [x1, x2] { for c in 0..<3 { pixels[((oy + y) * w + ox + x) * 3 + c] = colour[c] } } }
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}
