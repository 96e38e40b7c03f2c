// The frame loop's clock (pacer.js): a worker's timers keep their time while the page's tab is in the background.
self.onmessage = ({ data: { id, ms } }) => {
  setTimeout(() => self.postMessage(id), ms);
};
