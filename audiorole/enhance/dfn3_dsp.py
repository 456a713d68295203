"""DeepFilterNet3's signal processing in NumPy: STFT, ERB features, deep filter.

The ONNX export holds only the three networks (encoder, ERB decoder, DF
decoder); the framing, features and the filters applied to their outputs live
in DeepFilterNet's Rust ``libDF``. We re-implement them here, for a whole clip
at once, so an offline run needs neither that library nor a frame-by-frame
loop (the shipped realtime runtimes measured ~5x slower on 2 cores). The
definitions follow the DeepFilterNet paper and its public source; a test
checks them against the Rust runtime's output.
"""

import numpy as np


def vorbis_window(n: int) -> np.ndarray:
    """Power-complementary at 50 % overlap, so analysis+synthesis is exact."""
    i = np.arange(n, dtype=np.float64) + 0.5
    return np.sin(0.5 * np.pi * np.sin(np.pi * i / n) ** 2).astype(np.float32)


def erb_widths(sr: int, fft_size: int, nb_bands: int, min_nb_freqs: int) -> np.ndarray:
    """Number of FFT bins in each ERB band (bands equally spaced on the ERB scale)."""
    def freq2erb(f):
        return 9.265 * np.log1p(f / (24.7 * 9.265))

    def erb2freq(e):
        return 24.7 * 9.265 * (np.exp(e / 9.265) - 1.0)

    n_freqs = fft_size // 2 + 1
    step = freq2erb(sr / 2) / nb_bands
    widths, prev, over = [], 0, 0
    for i in range(1, nb_bands + 1):
        fb = int(np.round(erb2freq(i * step) / (sr / fft_size)))
        w = fb - prev - over
        over = max(min_nb_freqs - w, 0)  # narrow low bands borrow bins from the next
        widths.append(max(w, min_nb_freqs))
        prev = fb
    widths[-1] += 1  # the Nyquist bin
    widths[-1] -= sum(widths) - n_freqs
    return np.asarray(widths, dtype=np.int64)


def norm_alpha(sr: int, hop: int, tau: float) -> float:
    """Smoothing factor of the running normalisations, rounded as DeepFilterNet does."""
    alpha = float(np.exp(-(hop / sr) / tau))
    precision = 3
    while True:
        a = round(alpha * 10 ** precision) / 10 ** precision
        if a < 1.0:
            return a
        precision += 1


def stft(x: np.ndarray, window: np.ndarray, hop: int) -> np.ndarray:
    """[T, F] complex64; frame t ends at sample (t+1)*hop, as in the streaming STFT."""
    n = window.size
    padded = np.concatenate([np.zeros(n - hop, np.float32), x])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n)[::hop]
    return (np.fft.rfft(frames * window, axis=-1) / (n * n / (2 * hop))).astype(np.complex64)


def istft(spec: np.ndarray, window: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add inverse of ``stft`` (output delayed by ``n - hop`` samples)."""
    n = window.size
    frames = np.fft.irfft(spec, n=n, axis=-1).astype(np.float32) * n * window
    t = spec.shape[0]
    out = np.zeros((t + 1) * hop, np.float32)
    out[: t * hop] += frames[:, :hop].reshape(-1)
    out[hop: (t + 1) * hop] += frames[:, hop:].reshape(-1)
    return out[: t * hop]


def _running_mean(x: np.ndarray, alpha: float, init: np.ndarray) -> np.ndarray:
    """s_t = alpha*s_{t-1} + (1-alpha)*x_t over axis 0 (a per-band exponential mean)."""
    out = np.empty_like(x)
    s = init.astype(x.dtype)
    for t in range(x.shape[0]):  # ~100 frames/s; vector ops per frame are cheap
        s = alpha * s + (1.0 - alpha) * x[t]
        out[t] = s
    return out


def erb_features(spec: np.ndarray, widths: np.ndarray, alpha: float) -> np.ndarray:
    """Mean band power in dB, minus its running mean, scaled: [T, nb_erb] float32."""
    power = spec.real ** 2 + spec.imag ** 2
    edges = np.concatenate([[0], np.cumsum(widths)[:-1]])
    band = np.add.reduceat(power, edges, axis=1) / widths
    db = 10.0 * np.log10(band + 1e-10)
    mean = _running_mean(db, alpha, np.linspace(-60.0, -90.0, widths.size, dtype=np.float32))
    return ((db - mean) / 40.0).astype(np.float32)


def spec_features(spec: np.ndarray, nb_df: int, alpha: float) -> np.ndarray:
    """Low bins divided by the sqrt of their running mean magnitude: [2, T, nb_df] (re, im)."""
    low = spec[:, :nb_df]
    mean = _running_mean(np.abs(low), alpha, np.linspace(0.001, 0.0001, nb_df, dtype=np.float32))
    unit = low / np.sqrt(mean)
    return np.stack([unit.real, unit.imag]).astype(np.float32)


def apply_erb_gains(spec: np.ndarray, gains: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Scale every bin by its band's gain (gains: [T, nb_erb])."""
    return spec * np.repeat(gains, widths, axis=1)


def deep_filter(spec: np.ndarray, coefs: np.ndarray, lookahead: int) -> np.ndarray:
    """Complex FIR over frames per low bin: y[t] = sum_k c[t,k] * x[t + k - (order-1-lookahead)].

    coefs: [T, nb_df, 2*order] as the DF decoder emits them (re, im interleaved).
    """
    t, nb_df, two_order = coefs.shape
    order = two_order // 2
    c = coefs[..., 0::2] + 1j * coefs[..., 1::2]  # [T, F, order]
    low = spec[:, :nb_df]
    past = order - 1 - lookahead
    padded = np.concatenate([np.zeros((past, nb_df), low.dtype), low, np.zeros((lookahead, nb_df), low.dtype)])
    out = np.zeros_like(low)
    for k in range(order):
        out += c[:, :, k] * padded[k: k + t]
    return out.astype(np.complex64)
