// Media for `npm run bench`, generated with Debian's ffmpeg and cached in bench/.work (keyed by parameters).
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';

export const FFMPEG = process.env.BENCH_FFMPEG ?? '/usr/bin/ffmpeg';
export const FFPROBE = process.env.BENCH_FFPROBE ?? '/usr/bin/ffprobe';

function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

/**
 * A 1280x720 25 fps H.264 MP4 of `seconds` at a constant `mbps` (x264 CBR with filler, so the size is the
 * bitrate times the duration: 600 s at 7.7 Mb/s is the issue's ~577 MB), keyframes every 2 s, faststart.
 */
export function makeLongVideo(dir, seconds, mbps) {
  const file = path.join(dir, `long-${seconds}s-${mbps}mbps.mp4`);
  if (existsSync(file)) return file;
  log(`encoding a ${seconds} s 1280x720 H.264 video at ${mbps} Mb/s (once; cached in ${dir})`);
  const rate = `${Math.round(mbps * 1000)}k`;
  execFileSync(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p',
    '-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', `${Math.round(mbps * 500)}k`, '-x264-params', 'nal-hrd=cbr:force-cfr=1',
    '-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', `${file}.part.mp4`], { stdio: ['ignore', 'ignore', 'inherit'] });
  renameSync(`${file}.part.mp4`, file);
  return file;
}

/**
 * `count` distinct 30 s 640x360 H.264 clips: one encode, then remuxes that differ in a metadata tag (distinct
 * bytes, so distinct blobs, at no encoding cost). With `distinct < count`, names repeat contents round-robin.
 */
export function makeClips(dir, count, distinct = count) {
  const base = path.join(dir, 'clip-base-30s-360p.mp4');
  if (!existsSync(base)) {
    log('encoding a 30 s 640x360 clip');
    execFileSync(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=30',
      '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000:duration=30',
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', '-b:v', '1000k',
      '-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', `${base}.part.mp4`], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(`${base}.part.mp4`, base);
  }
  const names = [];
  for (let i = 0; i < distinct; i++) {
    const name = `clip-${String(i).padStart(3, '0')}.mp4`;
    const file = path.join(dir, name);
    if (!existsSync(file)) {
      execFileSync(FFMPEG, ['-v', 'error', '-y', '-i', base, '-c', 'copy', '-metadata', `comment=bench clip ${i}`,
        '-movflags', '+faststart', `${file}.part.mp4`], { stdio: ['ignore', 'ignore', 'inherit'] });
      renameSync(`${file}.part.mp4`, file);
    }
    names.push(name);
  }
  return Array.from({ length: count }, (_, i) => names[i % distinct]);
}
