;; Vector kernels of the training loop (WebAssembly SIMD, 4 float32 lanes).
;; Built into kernels-binary.ts by scripts/build-simd-kernels.mjs; never edit that file.
;;
;; Every kernel takes byte offsets into the memory the host imports and a count n of
;; float32 elements. It processes ceil(n / 4) * 4 elements, so each array must start at a
;; 16-byte boundary and own its padding up to the next one (FloatArena allocates them so).
;; Formulas and their order follow torch.optim's single-tensor paths, in float32 as torch.
(module
  (import "env" "memory" (memory 1))

  ;; Plain SGD: p -= lr * (gs * g + wd * p).
  (func (export "sgd") (param $p i32) (param $g i32) (param $n i32)
        (param $lr f32) (param $wd f32) (param $gs f32)
    (local $end i32) (local $x v128) (local $lr4 v128) (local $wd4 v128) (local $gs4 v128)
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    (local.set $wd4 (f32x4.splat (local.get $wd)))
    (local.set $gs4 (f32x4.splat (local.get $gs)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $x (v128.load (local.get $p)))
      (v128.store (local.get $p)
        (f32x4.sub (local.get $x)
          (f32x4.mul (local.get $lr4)
            (f32x4.add (f32x4.mul (local.get $gs4) (v128.load (local.get $g)))
                       (f32x4.mul (local.get $wd4) (local.get $x))))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (br $next))))

  ;; SGD with momentum: d = gs * g + wd * p; b = keep * buf + damp * d; buf = b;
  ;; p -= lr * (cd * d + cb * b). torch's first step is keep 0, damp 1; nesterov is
  ;; (cd, cb) = (1, momentum), otherwise (0, 1).
  (func (export "sgd_momentum") (param $p i32) (param $g i32) (param $buf i32) (param $n i32)
        (param $lr f32) (param $wd f32) (param $gs f32) (param $keep f32) (param $damp f32)
        (param $cd f32) (param $cb f32)
    (local $end i32) (local $x v128) (local $d v128) (local $b v128)
    (local $lr4 v128) (local $wd4 v128) (local $gs4 v128) (local $keep4 v128) (local $damp4 v128)
    (local $cd4 v128) (local $cb4 v128)
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    (local.set $wd4 (f32x4.splat (local.get $wd)))
    (local.set $gs4 (f32x4.splat (local.get $gs)))
    (local.set $keep4 (f32x4.splat (local.get $keep)))
    (local.set $damp4 (f32x4.splat (local.get $damp)))
    (local.set $cd4 (f32x4.splat (local.get $cd)))
    (local.set $cb4 (f32x4.splat (local.get $cb)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $x (v128.load (local.get $p)))
      (local.set $d (f32x4.add (f32x4.mul (local.get $gs4) (v128.load (local.get $g)))
                               (f32x4.mul (local.get $wd4) (local.get $x))))
      (local.set $b (f32x4.add (f32x4.mul (local.get $keep4) (v128.load (local.get $buf)))
                               (f32x4.mul (local.get $damp4) (local.get $d))))
      (v128.store (local.get $buf) (local.get $b))
      (v128.store (local.get $p)
        (f32x4.sub (local.get $x)
          (f32x4.mul (local.get $lr4)
            (f32x4.add (f32x4.mul (local.get $cd4) (local.get $d))
                       (f32x4.mul (local.get $cb4) (local.get $b))))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $buf (i32.add (local.get $buf) (i32.const 16)))
      (br $next))))

  ;; Adam and AdamW: grad = gs * g + coupled * p; m = b1 * m + (1 - b1) * grad;
  ;; v = b2 * v + (1 - b2) * grad^2; p = p * decay - step * m / (sqrt(v) * ibc2 + eps),
  ;; with step = lr / (1 - b1^t) and ibc2 = 1 / sqrt(1 - b2^t). Adam has decay 1,
  ;; AdamW coupled 0.
  (func (export "adam") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
        (param $gs f32) (param $coupled f32) (param $decay f32) (param $b1 f32) (param $b2 f32)
        (param $step f32) (param $ibc2 f32) (param $eps f32)
    (local $end i32) (local $x v128) (local $grad v128) (local $mv v128) (local $vv v128)
    (local $gs4 v128) (local $coupled4 v128) (local $decay4 v128) (local $b14 v128) (local $c14 v128)
    (local $b24 v128) (local $c24 v128) (local $step4 v128) (local $ibc24 v128) (local $eps4 v128)
    (local.set $gs4 (f32x4.splat (local.get $gs)))
    (local.set $coupled4 (f32x4.splat (local.get $coupled)))
    (local.set $decay4 (f32x4.splat (local.get $decay)))
    (local.set $b14 (f32x4.splat (local.get $b1)))
    (local.set $c14 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $b24 (f32x4.splat (local.get $b2)))
    (local.set $c24 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $step4 (f32x4.splat (local.get $step)))
    (local.set $ibc24 (f32x4.splat (local.get $ibc2)))
    (local.set $eps4 (f32x4.splat (local.get $eps)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $x (v128.load (local.get $p)))
      (local.set $grad (f32x4.add (f32x4.mul (local.get $gs4) (v128.load (local.get $g)))
                                  (f32x4.mul (local.get $coupled4) (local.get $x))))
      (local.set $mv (f32x4.add (f32x4.mul (local.get $b14) (v128.load (local.get $m)))
                                (f32x4.mul (local.get $c14) (local.get $grad))))
      (local.set $vv (f32x4.add (f32x4.mul (local.get $b24) (v128.load (local.get $v)))
                                (f32x4.mul (local.get $c24) (f32x4.mul (local.get $grad) (local.get $grad)))))
      (v128.store (local.get $m) (local.get $mv))
      (v128.store (local.get $v) (local.get $vv))
      (v128.store (local.get $p)
        (f32x4.sub (f32x4.mul (local.get $x) (local.get $decay4))
          (f32x4.div (f32x4.mul (local.get $step4) (local.get $mv))
            (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $ibc24)) (local.get $eps4)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $m (i32.add (local.get $m) (i32.const 16)))
      (local.set $v (i32.add (local.get $v) (i32.const 16)))
      (br $next))))

  ;; dst += src (summing the gradients of a logical batch's physical batches).
  (func (export "add_into") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (br $next))))

  ;; g = (g + std * z) * scale with z float32 standard normals: computed in float64 and
  ;; rounded to float32 once, two lanes at a time (DP-SGD's noise and averaging, fused).
  (func (export "add_noise") (param $g i32) (param $z i32) (param $n i32) (param $std f64) (param $scale f64)
    (local $end i32) (local $x v128) (local $zv v128) (local $lo v128) (local $hi v128) (local $std2 v128) (local $scale2 v128)
    (local.set $std2 (f64x2.splat (local.get $std)))
    (local.set $scale2 (f64x2.splat (local.get $scale)))
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $g) (local.get $end)))
      (local.set $x (v128.load (local.get $g)))
      (local.set $zv (v128.load (local.get $z)))
      (local.set $lo (f64x2.mul (local.get $scale2)
        (f64x2.add (f64x2.promote_low_f32x4 (local.get $x))
                   (f64x2.mul (local.get $std2) (f64x2.promote_low_f32x4 (local.get $zv))))))
      (local.set $hi (f64x2.mul (local.get $scale2)
        (f64x2.add (f64x2.promote_low_f32x4
                     (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x)))
                   (f64x2.mul (local.get $std2) (f64x2.promote_low_f32x4
                     (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $zv) (local.get $zv)))))))
      (v128.store (local.get $g)
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $z (i32.add (local.get $z) (i32.const 16)))
      (br $next))))
)
