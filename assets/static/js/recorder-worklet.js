// Dictum capture worklet: mixes the microphone input to mono and hands the main thread
// blocks of float PCM at the context's sample rate, with the block's RMS for the level meter.
class DictumCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(2048);
    this.n = 0;
    this.running = true;
    this.port.onmessage = (e) => {
      if (e.data === 'stop') {
        this.flush();
        this.running = false;
        this.port.postMessage({ done: true });
      }
    };
  }

  flush() {
    if (this.n === 0) return;
    const pcm = this.block.slice(0, this.n);
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
    this.port.postMessage({ pcm, rms: Math.sqrt(sum / pcm.length) }, [pcm.buffer]);
    this.n = 0;
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0];
    if (input && input.length > 0) {
      const channels = input.length;
      const frames = input[0].length;
      for (let i = 0; i < frames; i++) {
        let v = 0;
        for (let c = 0; c < channels; c++) v += input[c][i];
        this.block[this.n++] = v / channels;
        if (this.n === this.block.length) this.flush();
      }
    }
    return true;
  }
}

registerProcessor('dictum-capture', DictumCapture);
